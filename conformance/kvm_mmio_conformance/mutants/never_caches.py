"""Mutant: never caches (safe but useless).

The mistake: MMIO caching is off everywhere: encode refuses to make an MMIO spte, decode never
recognises one, and every check misses. A VM behind it is correct but takes the slow path on
every MMIO access; DESIGN.md requires the suite to reject such an implementation, as the kernel
with kvm.mmio_caching=0 is not the behaviour the spec describes.
"""

from kvm_mmio.spte import Profile
from kvm_mmio_conformance.mutants.base import SpteArithmetic

__all__ = ["NeverCaches"]


class NeverCaches(SpteArithmetic):
    name = "never-caches"
    mistake = "no MMIO spte is ever made or recognised, every check misses"
    imitates = "kvm.mmio_caching=0 (enable_mmio_caching off) presented as the default"
    witness = "v6-ept-p46c46-l1tf-encode-apic"

    def caching_enabled(self, p: Profile) -> bool:
        return False

    def check(self, p: Profile, spte: int, current_gen: int) -> bool:
        return False
