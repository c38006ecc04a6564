"""Mutant: era B turns MMIO caching off from 51 physical address bits instead of 52.

The mistake: shadow paging marks an MMIO spte with bit 51, a reserved physical address bit, so
kvm_mmu_reset_all_pte_masks disables MMIO caching when the CPU has no reserved bit left, i.e.
with shadow_phys_bits == 52 (`shadow_phys_bits < 52` keeps it). A port that reasons "bit 51 must
lie above the last address bit" writes `< 51` and gives up MMIO caching on 51-bit CPUs, where
bit 51 is still reserved. The 46- and 52-bit examples cannot tell.
"""

from kvm_mmio.spte import Profile
from kvm_mmio_conformance.mutants.base import SpteArithmetic

__all__ = ["CachingOffAt51"]


class CachingOffAt51(SpteArithmetic):
    name = "caching-off-at-51"
    mistake = "era B shadow paging without MMIO caching from 51 physical bits"
    imitates = "kvm_mmu_reset_all_pte_masks with `shadow_phys_bits < 51`"
    witness = "v6-shadow-p51c51-l1tf-encode-apic"

    def _off(self, p: Profile) -> bool:
        return p.family == "B" and p.paging == "shadow" and p.phys_bits >= 51

    def caching_enabled(self, p: Profile) -> bool:
        return not self._off(p) and super().caching_enabled(p)

    def mmio_value(self, p: Profile) -> int:
        return 0 if self._off(p) else super().mmio_value(p)

    def mmio_mask(self, p: Profile) -> int:
        return 0 if self._off(p) else super().mmio_mask(p)
