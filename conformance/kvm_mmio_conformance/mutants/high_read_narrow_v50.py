"""Mutant: v5.0 reads back only the 10 high generation bits it stores.

The mistake: get_mmio_spte_generation in v5.0 reads (spte >> 52) << 10, every bit from 52 up, so
spte bit 63 lands in generation bit 21 (KERNEL_FACTS section 2, kvm_mmio.spte); a port that reads
the high part as symmetric to the store (bits 52-61 only) decodes a different generation for any
spte with bit 63 set, such as a non-MMIO spte with NX.
"""

from kvm_mmio.spte import GenPart, Profile
from kvm_mmio_conformance.mutants.base import SpteArithmetic

__all__ = ["HighReadNarrowV50"]


class HighReadNarrowV50(SpteArithmetic):
    name = "high-read-narrow-v50"
    mistake = "v5.0 high generation read limited to spte bits 52-61"
    imitates = "a symmetric reading of v5.0 mmu.c generation_mmio_spte_mask"
    witness = "v5.0-shadow-p46c46-l1tf-decode-raw-all-ones"

    def load_parts(self, p: Profile) -> tuple[GenPart, ...]:
        return self.store_parts(p) if p.era == "v5.0" else super().load_parts(p)
