"""Mutant: bit 0 of the generation kept in a v5.0 spte.

The mistake: v5.0 stores generation bits 0-9 in spte bits 2-11 ((gen & 0x3FF) << 2) instead of
bits 1-9 in spte 3-11 ((gen & 0x3FE) << 2), and reads them back the same way. Bit 0 is the
update-in-progress mark of era A (ee3d1570b586, "kvm: fix potentially corrupt mmio cache") and
never reaches an spte; kept, it lands on spte bit 2, which is ACC_USER (shadow paging) or the EPT
misconfiguration value, so decoded generations turn odd and same-generation checks miss.
"""

from kvm_mmio.spte import GenPart, Profile
from kvm_mmio_conformance.mutants.base import SpteArithmetic

__all__ = ["Bit0KeptEraA"]


class Bit0KeptEraA(SpteArithmetic):
    name = "bit0-kept-era-a"
    mistake = "v5.0 low generation part (gen & 0x3FF) << 2: bit 0 stored in spte bit 2"
    imitates = "era A without the bit-0 mask of ee3d1570b586's in-progress scheme"
    witness = "v5.0-shadow-p46c46-l1tf-decode-apic"

    def store_parts(self, p: Profile) -> tuple[GenPart, ...]:
        if p.era != "v5.0":
            return super().store_parts(p)
        return (GenPart(0, 2, 10), *p.gen_layout[1:])

    def load_parts(self, p: Profile) -> tuple[GenPart, ...]:
        if p.era != "v5.0":
            return super().load_parts(p)
        return (GenPart(0, 2, 10), *p.gen_load_layout[1:])
