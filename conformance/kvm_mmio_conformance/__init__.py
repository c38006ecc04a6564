"""kvm_mmio_conformance: language-neutral vectors, the adapter protocol and the runner that judge an
implementation of KVM's MMIO caching against the kvm_mmio reference."""
