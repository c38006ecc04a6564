"""Mutant: the wrap is tested on the generation before the install, so the zap comes one late.

The mistake: kvm_mmu_invalidate_mmio_sptes is handed the generation the memslots had before this
install (slots->generation, read before it is advanced) instead of the one being installed: the
wrap test fires on the install after the wrapping one. Until then every MMIO spte and mapping
made before the wrap survives it, so a page mapped before the wrap is still mapped by the
hardware right after it. Only a case that reads a frame between the wrapping install and the
next one shows it.
"""

from kvm_mmio_conformance.mutants.wrap_watch import WrapWatch
from kvm_mmio_conformance.repeat import first_wrap

__all__ = ["WrapTestedLate"]


class WrapTestedLate(WrapWatch):
    name = "wrap-tested-late"
    mistake = "the wrap test on the generation before the install: the zap one install late"
    imitates = "kvm_arch_memslots_updated(kvm, slots->generation) before the increment"
    witness = "wrap-v6-as0-across"
    killed_at = "operations"

    def after_installs(self, a: int, before: int, count: int) -> None:
        step = self.kernel.gen_step
        # the values tested are the generations before each install: before + (i - 1) * step
        if first_wrap(self.kernel, before - step, step, count) is not None:
            self.zap(tuple(self.vm.constants.ases))
