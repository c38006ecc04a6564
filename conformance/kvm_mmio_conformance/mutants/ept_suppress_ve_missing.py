"""Mutant: the v6 EPT MMIO mask without the Suppress #VE bit.

The mistake: era B's EPT shadow_mmio_mask is VMX_EPT_RWX_MASK | VMX_EPT_SUPPRESS_VE_BIT (bit 63)
since "KVM: x86/mmu: Add Suppress VE bit to EPT shadow_mmio_mask/shadow_present_mask" (2024, TDX
preparation); a port of an older v6 kernel masks bits 0-2 only and so takes an EPT spte with bit
63 set and W+X without R for an MMIO spte.
"""

from kvm_mmio.spte import EPT_RWX, Profile
from kvm_mmio_conformance.mutants.base import SpteArithmetic

__all__ = ["EptSuppressVeMissing"]


class EptSuppressVeMissing(SpteArithmetic):
    name = "ept-suppress-ve-missing"
    mistake = "v6 EPT mmio mask 0x7 without bit 63 (SUPPRESS_VE)"
    imitates = "mmu/spte.c kvm_mmu_set_ept_masks before the 2024 Suppress VE change"
    witness = "v6-ept-p46c46-l1tf-decode-raw-bit63"

    def mmio_mask(self, p: Profile) -> int:
        if p.family == "B" and p.paging == "ept":
            return EPT_RWX
        return super().mmio_mask(p)
