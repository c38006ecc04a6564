"""Mutant: the wrap test fires in one address space only (FixWrapAnyAs off).

The mistake: kvm_mmu_invalidate_mmio_sptes tests the raw generation (`gen & mask == 0`), as v5.0
did before "KVM: x86/mmu: Detect MMIO generation wrap in any address space" (2019): with two
address spaces one of them never reaches 0 (KERNEL_FACTS.md section 1), so its wraps go
undetected and a pre-wrap MMIO spte matches again. Sequential operations show it in the
bug_wrap_one_as configuration (access gfn 2, two installs, access gfn 2: an spte hit instead of
the slow path), so the operations level rejects it.
"""

from kvm_mmio_conformance.mutants.model_base import SwitchedOff

__all__ = ["WrapOneAs"]


class WrapOneAs(SwitchedOff):
    name = "wrap-one-as"
    mistake = "the wrap test is gen % 2^GenBits = 0: wraps of the other AS go unnoticed"
    imitates = "v5.0 before 'KVM: x86/mmu: Detect MMIO generation wrap in any address space'"
    witness = "counterexample-bug-wrap-one-as"
    switch = "FixWrapAnyAs"
    killed_at = "operations"
