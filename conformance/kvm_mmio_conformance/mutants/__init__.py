"""A catalog of wrong implementations, which the suite must reject every one of.

Why: a conformance suite is only as good as the mistakes it catches. Each module here is one
plausible mistake (its docstring says which, and which kernel commit or era it imitates):

- the spte layer's: a small subclass of mutants.base.SpteArithmetic that changes one decision;
- the model levels': the reference adapter with one decision undone (mutants.model_base.
  ModelMutant): a fix switch of MODEL.md turned off in every config it resets to (SwitchedOff:
  the historical bugs), another MMIO generation width, a wrap zap at the wrong moment or of too
  little (mutants.wrap_watch.WrapWatch), a flags change that installs nothing, and a VM that
  never caches (mutants.vm_never_caches).

`witness` names a case that must reject a mutant and `killed_at` the level expected to do it
("steps" for the races no sequence of whole operations shows). killing.py runs the suite against
each, in the full view and in the kernel view (kernel_view.py: what a real kernel can run and
show), and tabulates the cases that kill it (`kvm-mmio conformance --mutants`). Mutants are
adapters, so they also run out of process:

    python -m kvm_mmio_conformance.stdio_server \\
        kvm_mmio_conformance.mutants.never_caches:NeverCaches
"""

from kvm_mmio_conformance.mutants.access_exec_kept import AccessExecKept
from kvm_mmio_conformance.mutants.base import SpteArithmetic
from kvm_mmio_conformance.mutants.bit0_kept_era_a import Bit0KeptEraA
from kvm_mmio_conformance.mutants.cache_in_flux import CacheInFlux
from kvm_mmio_conformance.mutants.caching_disabled_ignored import CachingDisabledIgnored
from kvm_mmio_conformance.mutants.caching_off_at_51 import CachingOffAt51
from kvm_mmio_conformance.mutants.check_ignores_generation import CheckIgnoresGeneration
from kvm_mmio_conformance.mutants.corrupt_cache import CorruptCache
from kvm_mmio_conformance.mutants.ept_access_mask import EptAccessMask
from kvm_mmio_conformance.mutants.ept_suppress_ve_missing import EptSuppressVeMissing
from kvm_mmio_conformance.mutants.flags_no_bump import FlagsNoBump
from kvm_mmio_conformance.mutants.flush_zaps_one_slot import FlushZapsOneSlot
from kvm_mmio_conformance.mutants.full_generation_compare import FullGenerationCompare
from kvm_mmio_conformance.mutants.gen_mask_18_in_v6 import GenMask18InV6
from kvm_mmio_conformance.mutants.gen_mask_20_in_v6 import GenMask20InV6
from kvm_mmio_conformance.mutants.gen_width_18 import GenWidth18
from kvm_mmio_conformance.mutants.gen_width_20 import GenWidth20
from kvm_mmio_conformance.mutants.gfn_mask_by_cache_bits import GfnMaskByCacheBits
from kvm_mmio_conformance.mutants.gfn_off_by_one import GfnOffByOne
from kvm_mmio_conformance.mutants.high_read_narrow_v50 import HighReadNarrowV50
from kvm_mmio_conformance.mutants.hook_late import HookLate
from kvm_mmio_conformance.mutants.in_progress_stored import InProgressStored
from kvm_mmio_conformance.mutants.in_progress_unchecked import InProgressUnchecked
from kvm_mmio_conformance.mutants.is_mmio_single_bit import IsMmioSingleBit
from kvm_mmio_conformance.mutants.l1tf_flag_ignored import L1tfFlagIgnored
from kvm_mmio_conformance.mutants.l1tf_phys_bits import L1tfPhysBits
from kvm_mmio_conformance.mutants.l1tf_window_at_47 import L1tfWindowAt47
from kvm_mmio_conformance.mutants.mmio_mask_not_cleared import MmioMaskNotCleared
from kvm_mmio_conformance.mutants.model_base import ModelMutant, SwitchedOff
from kvm_mmio_conformance.mutants.never_caches import NeverCaches
from kvm_mmio_conformance.mutants.no_flush import NoFlush
from kvm_mmio_conformance.mutants.no_l1tf_relocation import NoL1tfRelocation
from kvm_mmio_conformance.mutants.no_wrap_zap import NoWrapZap
from kvm_mmio_conformance.mutants.ordered_gen_compare import OrderedGenCompare
from kvm_mmio_conformance.mutants.stale_cache import StaleCache
from kvm_mmio_conformance.mutants.v50_mark_masked_out import V50MarkMaskedOut
from kvm_mmio_conformance.mutants.v51_shift_in_v6 import V51ShiftInV6
from kvm_mmio_conformance.mutants.v51_without_bug import V51WithoutBug
from kvm_mmio_conformance.mutants.vm_never_caches import VmNeverCaches
from kvm_mmio_conformance.mutants.wrap_one_as import WrapOneAs
from kvm_mmio_conformance.mutants.wrap_tested_late import WrapTestedLate
from kvm_mmio_conformance.mutants.wrap_zaps_one_as import WrapZapsOneAs

__all__ = [
    "MODEL_MUTANTS",
    "MUTANTS",
    "SPTE_MUTANTS",
    "ModelMutant",
    "SpteArithmetic",
    "SwitchedOff",
]

# name -> class, in the order of the list, then the other slips.
SPTE_MUTANTS: dict[str, type[SpteArithmetic]] = {
    mutant.name: mutant
    for mutant in (
        V51ShiftInV6,
        InProgressUnchecked,
        InProgressStored,
        Bit0KeptEraA,
        NoL1tfRelocation,
        EptAccessMask,
        GfnOffByOne,
        NeverCaches,
        V51WithoutBug,
        GenMask20InV6,
        FullGenerationCompare,
        CheckIgnoresGeneration,
        L1tfFlagIgnored,
        L1tfPhysBits,
        MmioMaskNotCleared,
        HighReadNarrowV50,
        CachingDisabledIgnored,
        AccessExecKept,
        EptSuppressVeMissing,
        L1tfWindowAt47,
        CachingOffAt51,
        OrderedGenCompare,
        IsMmioSingleBit,
        GfnMaskByCacheBits,
        V50MarkMaskedOut,
        GenMask18InV6,
    )
}
# name -> class: one per fix switch of MODEL.md, in its table's order, then "never caches", then
# the generation width and wrap mistakes, the flags change that installs nothing, one-slot flush.
MODEL_MUTANTS: dict[str, type[ModelMutant]] = {
    mutant.name: mutant
    for mutant in (
        StaleCache,
        CorruptCache,
        HookLate,
        WrapOneAs,
        CacheInFlux,
        NoWrapZap,
        NoFlush,
        VmNeverCaches,
        GenWidth18,
        GenWidth20,
        WrapTestedLate,
        WrapZapsOneAs,
        FlagsNoBump,
        FlushZapsOneSlot,
    )
}
MUTANTS: dict[str, type] = {**SPTE_MUTANTS, **MODEL_MUTANTS}
