"""kvm_mmio_tools: the TLC driver, TLC/reference cross-checks and the `kvm-mmio` CLI.

Dependencies point one way: kvm_mmio_tools -> kvm_mmio_conformance -> kvm_mmio.
"""
