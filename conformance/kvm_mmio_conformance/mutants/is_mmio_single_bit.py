"""Mutant: is_mmio_spte tests one bit of the MMIO mask instead of all of them.

The mistake: an spte is taken for an MMIO spte when the highest bit of shadow_mmio_value is set
(bit 51 for shadow paging, bit 62 in era A, bit 2, W+X's X, with era B EPT), instead of
`(spte & shadow_mmio_mask) == shadow_mmio_value`. The MMIO sptes KVM makes, the empty spte and a
present leaf all agree; an spte with that bit set but another bit of the mask different (a
reserved-bit spte without the present bit, an EPT spte readable or with SUPPRESS_VE) does not.
"""

from kvm_mmio.spte import Profile
from kvm_mmio_conformance.mutants.base import SpteArithmetic

__all__ = ["IsMmioSingleBit"]


class IsMmioSingleBit(SpteArithmetic):
    name = "is-mmio-single-bit"
    mistake = "is_mmio tests only the top bit of shadow_mmio_value"
    imitates = "is_mmio_spte as `spte & BIT(51)` (shadow) or `spte & VMX_EPT_EXECUTABLE_MASK`"
    witness = "v6-shadow-p46c46-l1tf-decode-raw-mmio-bit0"

    def is_mmio(self, p: Profile, spte: int) -> bool:
        top = self.mmio_value(p).bit_length() - 1
        return top >= 0 and bool(spte >> top & 1) and self.caching_enabled(p)
