"""Mutant: a wrap zaps the sptes of the address space that wrapped, not every address space.

The mistake: on an MMIO generation wrap the kernel zaps every shadow page of the VM
(kvm_mmu_zap_all_fast, which invalidates the roots of both address spaces); a port that zaps
only the roots of the address space whose generation wrapped leaves the other address space's
mappings in place. A vCPU outside SMM then still hits in the hardware after SMM's generation
wraps, where the kernel faults. Only a case with a vCPU in each address space that reads across
a wrap shows it.
"""

from kvm_mmio_conformance.mutants.wrap_watch import WrapWatch
from kvm_mmio_conformance.repeat import first_wrap

__all__ = ["WrapZapsOneAs"]


class WrapZapsOneAs(WrapWatch):
    name = "wrap-zaps-one-as"
    mistake = "an MMIO generation wrap zaps only the address space that wrapped"
    imitates = "kvm_mmu_invalidate_mmio_sptes zapping one address space's roots"
    witness = "wrap-v6-as1-across"
    killed_at = "operations"

    def after_installs(self, a: int, before: int, count: int) -> None:
        if first_wrap(self.kernel, before, self.kernel.gen_step, count) is not None:
            self.zap((a,))
