"""Mutant: nothing is invalidated when the MMIO generation wraps (ZapOnWrap off).

The mistake: kvm_mmu_invalidate_mmio_sptes does not zap on a wrap, as if the 2013 MMIO
generation scheme had no wrap handling: an MMIO spte stores only the low GenBits of the
generation, so after a wrap an old spte matches again and a gfn that now has a slot exits as
MMIO. Sequential operations show it (bug_no_wrap_zap's distinguishing sequence), so the
operations level rejects it.
"""

from kvm_mmio_conformance.mutants.model_base import SwitchedOff

__all__ = ["NoWrapZap"]


class NoWrapZap(SwitchedOff):
    name = "no-wrap-zap"
    mistake = "no zap when the MMIO generation wraps (ZapOnWrap off)"
    imitates = "the 2013 MMIO generation scheme without its wrap zap"
    witness = "counterexample-bug-no-wrap-zap"
    switch = "ZapOnWrap"
    killed_at = "operations"
