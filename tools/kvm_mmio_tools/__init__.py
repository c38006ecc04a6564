"""kvm_mmio_tools: the TLC driver, cross-checks between TLC and the reference, and the `kvm-mmio` CLI.

Dependencies point one way: kvm_mmio_tools -> kvm_mmio_conformance -> kvm_mmio.
"""
