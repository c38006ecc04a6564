"""Mutant: v5.0's 20-bit MMIO generation kept in era B, instead of 19 bits.

The mistake: MMIO_GEN_MASK of v3.17-v5.0 ((1 << 20) - 1) carried over to a v6 port, whose
MMIO_SPTE_GEN_MASK is GENMASK_ULL(18, 0): the wrap test fires half as often, so at the kernel's
wrap (after 2^18 installs of an address space in v6, 2^19 with one address space) nothing is
zapped and a page mapped before the wrap is still mapped by the hardware after it.
"""

from typing import Any

import attrs

from kvm_mmio.config import Constants
from kvm_mmio_conformance.mutants.model_base import ModelMutant

__all__ = ["GenWidth20"]

KERNEL_BITS = 19  # MMIO_SPTE_GEN_MASK, GENMASK_ULL(18, 0) in arch/x86/kvm/mmu/spte.h


class GenWidth20(ModelMutant):
    name = "gen-width-20"
    mistake = "era B's MMIO generation as 20 bits (v5.0's MMIO_GEN_MASK): the wrap comes late"
    imitates = "v5.0 mmu.c MMIO_GEN_MASK in a v5.13+ port"
    witness = "wrap-v6-as0-across"
    killed_at = "operations"

    def constants_for(self, config: dict[str, Any]) -> Constants:
        constants = super().constants_for(config)
        if constants.era == "B" and constants.gen_bits == KERNEL_BITS:
            return attrs.evolve(constants, gen_bits=20)
        return constants
