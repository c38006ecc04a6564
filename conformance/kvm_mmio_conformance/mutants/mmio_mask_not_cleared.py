"""Mutant: era A reads the generation without clearing shadow_mmio_mask first.

The mistake: v5.0's get_mmio_spte_generation starts with spte &= ~shadow_mmio_mask, because its
high read takes every bit from 52 up and the era-A mmio mask holds SPTE_SPECIAL_MASK (bit 62);
without the clear, bit 62 of every MMIO spte reads as generation bit 20. The clearing went away
only in v5.5 (56871d444bc4) with a layout that no longer overlaps: the mutant imitates that
newer code in a v5.0 profile.
"""

from kvm_mmio.spte import Profile
from kvm_mmio_conformance.mutants.base import SpteArithmetic

__all__ = ["MmioMaskNotCleared"]


class MmioMaskNotCleared(SpteArithmetic):
    name = "mmio-mask-not-cleared"
    mistake = "era A get_mmio_spte_generation without spte &= ~shadow_mmio_mask"
    imitates = "56871d444bc4 (v5.5) decode in a v5.0 profile"
    witness = "v5.0-shadow-p46c46-l1tf-decode-apic"

    def clears_mmio_mask(self, p: Profile) -> bool:
        return False
