"""Mutant: deleting or moving a slot zaps that slot's sptes only (FlushZapsAll off in era B).

The mistake: since v5.1 kvm_arch_flush_shadow_memslot zaps every shadow page (the
KVM_X86_QUIRK_SLOT_ZAP_ALL behaviour, the default of the v6 profile); a port that zaps only the
sptes of the slot going away (the behaviour with the quirk disabled, and v5.0's per-slot flush)
leaves the other slots' mappings, so the next access to another RAM page is still mapped by the
hardware where the kernel faults. Sequences of whole operations show it.
"""

from kvm_mmio_conformance.mutants.model_base import SwitchedOff

__all__ = ["FlushZapsOneSlot"]


class FlushZapsOneSlot(SwitchedOff):
    name = "flush-zaps-one-slot"
    mistake = "delete and move zap the slot's own sptes, not every spte (FlushZapsAll off)"
    imitates = "kvm_arch_flush_shadow_memslot with KVM_X86_QUIRK_SLOT_ZAP_ALL disabled"
    witness = "cover-live-host-1v-003"
    switch = "FlushZapsAll"
    killed_at = "operations"
