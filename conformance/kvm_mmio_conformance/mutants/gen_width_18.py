"""Mutant: the MMIO generation of era B kept as 18 bits, as Documentation/virt/kvm/x86/mmu.rst
says, instead of MMIO_SPTE_GEN_MASK's 19.

The mistake: a port written from the documentation wraps (and zaps) the MMIO generation every
2^18 generations, twice as often as the kernel, and compares 18 bits. Nothing shows it until a
case gets near the wrap: after 2^17 installs of an address space (v6) the mutant has zapped and
a page mapped before faults again, where the kernel still maps it by the hardware.
"""

from typing import Any

import attrs

from kvm_mmio.config import Constants
from kvm_mmio_conformance.mutants.model_base import ModelMutant

__all__ = ["GenWidth18"]

KERNEL_BITS = 19  # MMIO_SPTE_GEN_MASK, GENMASK_ULL(18, 0) in arch/x86/kvm/mmu/spte.h


class GenWidth18(ModelMutant):
    name = "gen-width-18"
    mistake = "era B's MMIO generation as 18 bits (mmu.rst) instead of 19: it wraps twice as often"
    imitates = "Documentation/virt/kvm/x86/mmu.rst's stale 18-bit MMIO generation"
    witness = "wrap-v6-as0-across"
    killed_at = "operations"

    def constants_for(self, config: dict[str, Any]) -> Constants:
        constants = super().constants_for(config)
        if constants.era == "B" and constants.gen_bits == KERNEL_BITS:
            return attrs.evolve(constants, gen_bits=18)
        return constants
