"""Mutant: era B makes MMIO sptes although MMIO caching is off.

The mistake: with 52 physical address bits there is no reserved bit left for shadow paging, and
era B's kvm_mmu_reset_all_pte_masks (mmu/spte.c) then sets shadow_mmio_value to 0, which turns
enable_mmio_caching off: no MMIO spte is ever made and none is recognised. The mutant keeps the
bit-51 value regardless, as if the reserved bit existed.
"""

from kvm_mmio.spte import SHADOW_MMIO_BITS, Profile
from kvm_mmio_conformance.mutants.base import SpteArithmetic

__all__ = ["CachingDisabledIgnored"]


class CachingDisabledIgnored(SpteArithmetic):
    name = "caching-disabled-ignored"
    mistake = "era B shadow paging with phys_bits 52 still makes bit-51 MMIO sptes"
    imitates = "era B kvm_mmu_reset_all_pte_masks without its 52-bit MMIO caching switch-off"
    witness = "v6-shadow-p52c52-nol1tf-encode-disabled"

    def _collides(self, p: Profile) -> bool:
        return p.family == "B" and p.paging == "shadow" and p.phys_bits == 52

    def mmio_value(self, p: Profile) -> int:
        return SHADOW_MMIO_BITS if self._collides(p) else super().mmio_value(p)

    def mmio_mask(self, p: Profile) -> int:
        return SHADOW_MMIO_BITS if self._collides(p) else super().mmio_mask(p)

    def caching_enabled(self, p: Profile) -> bool:
        return True
