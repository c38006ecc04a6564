"""The TLA+ spec as installed data: KvmMmio.tla, KvmMmioTrace.tla, models/*.cfg and the manifest.

Why a Python package here: so that the spec ships inside the wheel (pyproject.toml maps this folder
to the package ``kvm_mmio_spec``) and every tool finds it through importlib.resources, in a checkout
(an editable install resolves the package to this very folder) as in an installed copy.
``kvm_mmio.config.spec_dir`` is the one place that looks it up; $KVM_MMIO_SPEC_DIR overrides it.
"""
