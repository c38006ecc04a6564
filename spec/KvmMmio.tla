------------------------------ MODULE KvmMmio ------------------------------
(***************************************************************************)
(* Linux KVM on x86: memslot generations and the caching of MMIO accesses. *)
(*                                                                         *)
(* What is modelled.  Userspace changes memslots (KVM_SET_USER_MEMORY_     *)
(* REGION) while vCPUs access guest frames.  Each change installs one or   *)
(* two new memslot sets (virt/kvm/kvm_main.c: install_new_memslots in era  *)
(* A, kvm_swap_active_memslots in era B): publish the set with an "update  *)
(* in progress" mark, wait for SRCU readers, run the arch hook that zaps   *)
(* everything when the MMIO generation wraps, store the final generation.  *)
(* A vCPU decides an access by the hardware walk of its spte, the per-vCPU *)
(* MMIO cache (arch/x86/kvm/x86.h: vcpu_cache_mmio_info,                   *)
(* vcpu_match_mmio_gen), the MMIO spte check (arch/x86/kvm/mmu/mmu.c:      *)
(* handle_mmio_page_fault, check_mmio_spte), the slow path (memslot        *)
(* lookup, cache fill, spte install) and the emulator.  A step is what the *)
(* kernel does atomically: one read or write of shared state, or a stretch *)
(* under a lock that every interleaved writer also takes; each action's    *)
(* comment names its lock (spec/README.md, "Atomicity", audits them all).  *)
(*                                                                         *)
(* What is abstracted (spec/README.md argues why each is sound).  Each     *)
(* gfn is its own one-page memslot; guest virtual and physical addresses   *)
(* coincide; a generation is the pair (gen, busy) rather than the          *)
(* kernel's 64-bit value (era A: gen+1 while busy; era B: bit 63); an      *)
(* spte keeps gen modulo 2^GenBits; a vCPU stays in its address space      *)
(* (no SMM entry/exit); one memslot operation runs at a time (slots_lock). *)
(*                                                                         *)
(* Every kernel fix is a BOOLEAN constant so that each race can be         *)
(* reproduced by switching its fix off (spec/models/*.cfg).                *)
(***************************************************************************)
EXTENDS Naturals, FiniteSets, TLC

CONSTANTS
    Vcpus,            \* vCPU ids (model values)
    Modes,            \* kinds of access explored, a subset of {"native", "emulated"}
    Gfns,             \* guest frames, each its own one-page memslot; gfn 0 is excluded
    NrAs,             \* address spaces: 1, or 2 (AS 1 is SMM)
    SmmVcpus,         \* vCPUs that run in AS 1 for ever; the others run in AS 0
    MaxUpdates,       \* bound on memslot installs, to keep the state space finite
    GenBits,          \* generation bits an MMIO spte keeps (kernel: 20 in era A, 19 in era B)
    InitGen,          \* initial generation of AS 0; AS i starts i * (GenStep \div NrAs) later
    InitRam,          \* gfns that start with a RAM memslot, in every AS; the others have none
    Era,              \* "A" (v5.0 .. v5.1 merge window) or "B" (v5.1 .. v6.x)
    InvalidRetries,   \* a fault on an INVALID slot retries (era B) instead of becoming MMIO
    MmioSptes,        \* MMIO sptes are created at all (module parameter kvm.mmio_caching)
    FlushZapsAll,     \* DELETE/MOVE zap every spte of the VM (KVM_X86_QUIRK_SLOT_ZAP_ALL)
    FixCacheGen,      \* 56f17dd3fbc4: the per-vCPU MMIO cache is tagged with the generation
    FixInProgress,    \* ee3d1570b586: in-progress mark, second increment after SRCU sync
    FixHookFirst,     \* 152482580a1b: the arch hook runs before the final generation is stored
    FixWrapAnyAs,     \* 2019 series: the wrap test ignores the address-space bits
    FixNoCacheInFlux, \* ddfd1730fd82 (the seed): no per-vCPU caching while an update is in flux
    ZapOnWrap,        \* 2013 MMIO generation scheme: the wrap of the MMIO generation zaps all
    FlushOnDelete,    \* kvm_arch_flush_shadow_memslot: DELETE/MOVE zap the old slot's sptes
    FixNoSpteInFlux,  \* candidate fix (finding safe_wrap): no MMIO spte while the AS is in flux
    FixCacheOwnAs,    \* candidate fix (finding smm): tag and match the cache with the vCPU's AS
    FixGenBeforeWalk  \* candidate fix (finding safe_wrap_split): read the generation before the
                      \* lockless spte walk, not after it

ASSUME /\ Vcpus # {}
       /\ Modes # {} /\ Modes \subseteq {"native", "emulated"}
       /\ Gfns # {} /\ Gfns \subseteq Nat /\ 0 \notin Gfns
       /\ NrAs \in {1, 2}
       /\ SmmVcpus \subseteq Vcpus /\ (NrAs = 1 => SmmVcpus = {})
       /\ MaxUpdates \in Nat /\ GenBits \in Nat \ {0} /\ InitGen \in Nat
       /\ InitRam \subseteq Gfns
       /\ Era \in {"A", "B"}
       \* Era A's bit 0 is the in-progress mark, so a stored generation is even (the kernel
       \* starts from -150, virt/kvm/kvm_main.c kvm_create_vm, 2019 series).
       /\ (Era = "A" => InitGen % 2 = 0)

-----------------------------------------------------------------------------
(* Derived constants.                                                      *)

ASes == 0 .. NrAs - 1

\* The final increment of one install: era A adds 2 per address space (bit 0 is the in-progress
\* mark), era B adds 1 per address space (the mark is bit 63).  virt/kvm/kvm_main.c,
\* install_new_memslots (v5.0) / kvm_swap_active_memslots (v6.x).
GenStep == IF Era = "A" THEN 2 * NrAs ELSE NrAs

GenMod == 2 ^ GenBits

\* Each address space has its own generation space (era A: AS 0 and AS 1 two apart; era B: one
\* apart).  kvm_create_vm sets i * 2 - 150 (v5.0) or i (v6.x) for AS i.
InitGenOf(a) == InitGen + a * (GenStep \div NrAs)

VcpuAs(v) == IF v \in SmmVcpus THEN 1 ELSE 0

\* The address space whose generation tags the per-vCPU cache: always AS 0 in the kernel
\* (kvm_memslots(vcpu->kvm) in x86.h); the vCPU's own with the candidate fix FixCacheOwnAs.
CacheAs(v) == IF FixCacheOwnAs THEN VcpuAs(v) ELSE 0

Kinds == {"create", "delete", "move", "flags"}

NoChange == [kind |-> "none", gfn |-> 0, to |-> 0]

\* Installs of one operation: DELETE and MOVE first install a copy with the slot INVALID.
Installs(c) == IF c.kind \in {"delete", "move"} THEN 2 ELSE 1

\* Outcome of an access to a frame whose memslot is in state s.
Outcome(s) == IF s = "ram" THEN "ram" ELSE "mmio"

SpteNone == [kind |-> "none", gen |-> 0]
SpteRam == [kind |-> "ram", gen |-> 0]
SpteMmio(n) == [kind |-> "mmio", gen |-> n]

NoCache == [gfn |-> 0, gen |-> 0, busy |-> FALSE]

NoGen == [gen |-> 0, busy |-> FALSE]

NoUpd(updates) ==
    [as |-> 0, change |-> NoChange, stage |-> 0, phase |-> "idle", waitFor |-> {},
     updates |-> updates]

-----------------------------------------------------------------------------
VARIABLES
    slots,   \* slots[a][g] \in {"ram", "none", "invalid"}: the published memslots of each AS
    gen,     \* gen[a]: generation of AS a, without the in-progress mark
    busy,    \* busy[a]: the in-progress mark of AS a
    spte,    \* spte[a][g]: SpteNone, SpteRam or SpteMmio(stored generation)
    cache,   \* cache[v]: the per-vCPU MMIO cache [gfn, gen, busy] (gfn 0: empty)
    dec,     \* dec[v]: history, the layout's outcome when a cache hit / spte check decided
    pc,      \* pc[v]: the vCPU's next step ("Idle" between accesses)
    acc,     \* acc[v]: the gfn of the access in flight (0 when idle)
    mode,    \* mode[v]: "native", "emulated" or "none" when idle
    inCS,    \* inCS[v]: the vCPU is inside an SRCU read-side section (kvm->srcu)
    saw,     \* saw[v]: the outcomes the user contract allowed at some point of the access
    out,     \* out[v]: the outcome of the access, "none" until decided
    path,    \* path[v]: how the outcome was decided: "hw", "cache", "spte", "slow", "emulator"
    upd,     \* upd: the memslot operation in progress (userspace's ioctl, under slots_lock)
    spteLocal, \* spteLocal[v]: the spte a vCPU holds between two steps: what the lockless walk
               \* read (CheckSpte compares it) or what make_mmio_spte built (MarkMmioSpte writes it)
    genLocal   \* genLocal[v]: the generation [gen, busy] read before the walk (FixGenBeforeWalk)

vars == <<slots, gen, busy, spte, cache, dec, pc, acc, mode, inCS, saw, out, path, upd,
          spteLocal, genLocal>>
vcpuVars == <<dec, pc, acc, mode, inCS, saw, out, path, spteLocal, genLocal>>

-----------------------------------------------------------------------------
(* Operations and the user contract.                                       *)

\* Every change a model can name (a label for Publish; Changes(a) says which can start now).
AllChanges ==
    {[kind |-> k, gfn |-> g, to |-> 0] : k \in {"create", "delete", "flags"}, g \in Gfns}
    \cup {c \in [kind : {"move"}, gfn : Gfns, to : Gfns] : c.gfn # c.to}

\* The changes that can start in AS a now: each needs its slot in the right state.
Changes(a) ==
    {[kind |-> "create", gfn |-> g, to |-> 0] : g \in {h \in Gfns : slots[a][h] = "none"}}
    \cup {[kind |-> k, gfn |-> g, to |-> 0] :
            k \in {"delete", "flags"}, g \in {h \in Gfns : slots[a][h] = "ram"}}
    \cup {[kind |-> "move", gfn |-> g, to |-> t] :
            g \in {h \in Gfns : slots[a][h] = "ram"}, t \in {h \in Gfns : slots[a][h] = "none"}}

\* The layout of AS a that stage st of change c installs over layout s.
StageLayout(s, c, st) ==
    CASE c.kind = "create" -> [s EXCEPT ![c.gfn] = "ram"]
      [] c.kind = "flags" -> s
      [] st = 1 -> [s EXCEPT ![c.gfn] = "invalid"]
      [] c.kind = "delete" -> [s EXCEPT ![c.gfn] = "none"]
      [] OTHER -> [s EXCEPT ![c.gfn] = "none", ![c.to] = "ram"]

\* A frame's state before and after the whole operation u (for frames it changes).
OpBefore(u, s, g) ==
    CASE u.change.kind = "create" /\ g = u.change.gfn -> "none"
      [] u.change.kind \in {"delete", "move"} /\ g = u.change.gfn -> "ram"
      [] u.change.kind = "move" /\ g = u.change.to -> "none"
      [] OTHER -> s[g]
OpAfter(u, s, g) ==
    CASE u.change.kind = "create" /\ g = u.change.gfn -> "ram"
      [] u.change.kind \in {"delete", "move"} /\ g = u.change.gfn -> "none"
      [] u.change.kind = "move" /\ g = u.change.to -> "ram"
      [] OTHER -> s[g]

\* The user contract, as tools/testing/selftests/kvm/set_memory_region_test.c states it: with no
\* operation in progress on AS a, the outcome of g's layout; during one, the outcome before the
\* whole operation or after it (INVALID reads as MMIO, so a deleted or moved slot may exit).
AllowedIn(s, u, a, g) ==
    IF u.phase # "idle" /\ u.as = a
    THEN {Outcome(OpBefore(u, s[a], g)), Outcome(OpAfter(u, s[a], g))}
    ELSE {Outcome(s[a][g])}

Allowed(a, g) == AllowedIn(slots, upd, a, g)

\* After every updater step, each undecided access collects what the contract allows in the new
\* state, whose slots and upd are s and u.  (They are passed rather than primed: TLC evaluates a
\* function constructor lazily, after the primed variables are gone.)
CollectAllowed(s, u) ==
    saw' = [v \in Vcpus |->
              IF pc[v] # "Idle" /\ out[v] = "none"
              THEN saw[v] \cup AllowedIn(s, u, VcpuAs(v), acc[v])
              ELSE saw[v]]

\* The wrap test of kvm_mmu_invalidate_mmio_sptes (arch/x86/kvm/mmu/mmu.c): zap all when the
\* MMIO generation wrapped.  v5.0 tests the raw masked value, which only the address space whose
\* generations are multiples of 2^GenBits can hit; the 2019 fix "Detect MMIO generation wrap in
\* any address space" drops the in-progress bit and the address-space bits first.
Wraps(n) == IF FixWrapAnyAs THEN (n % GenMod) \div GenStep = 0 ELSE n % GenMod = 0

ZapAll == [b \in ASes |-> [g \in Gfns |-> SpteNone]]

-----------------------------------------------------------------------------
(* The per-vCPU MMIO cache, arch/x86/kvm/x86.h.                           *)

\* vcpu_match_mmio_gen + the gpa/gva match (gfn 0 never matches).  Without 56f17dd3fbc4 the
\* cache had no generation at all.
CacheHit(v) ==
    /\ cache[v].gfn = acc[v]
    /\ FixCacheGen => /\ cache[v].gen = gen[CacheAs(v)]
                      /\ cache[v].busy = busy[CacheAs(v)]

\* vcpu_cache_mmio_info: tag with the generation as read now; since ddfd1730fd82 (the seed)
\* nothing is cached while that generation carries the in-progress mark.
FillCache(v) ==
    IF FixNoCacheInFlux /\ busy[CacheAs(v)]
    THEN UNCHANGED cache
    ELSE cache' = [cache EXCEPT ![v] = [gfn |-> acc[v], gen |-> gen[CacheAs(v)],
                                         busy |-> busy[CacheAs(v)]]]

\* RET_PF_RETRY: back into the guest, which leaves the SRCU read-side section (kvm_vcpu_srcu_
\* read_unlock before guest entry); the access restarts with the hardware walk.
Retry(v) ==
    /\ pc' = [pc EXCEPT ![v] = "HwAccess"]
    /\ inCS' = [inCS EXCEPT ![v] = FALSE]
    /\ upd' = [upd EXCEPT !.waitFor = @ \ {v}]
    /\ spteLocal' = [spteLocal EXCEPT ![v] = SpteNone]
    /\ genLocal' = [genLocal EXCEPT ![v] = NoGen]
    /\ dec' = [dec EXCEPT ![v] = "none"]

Decide(v, o, p) ==
    /\ out' = [out EXCEPT ![v] = o]
    /\ path' = [path EXCEPT ![v] = p]
    /\ pc' = [pc EXCEPT ![v] = "EndAccess"]

\* History for CachedMmioIsCurrent: the published layout's outcome at the linearization point of
\* a hit: the cache tag's generation read, or check_mmio_spte's generation read.
RecordDecision(v) == dec' = [dec EXCEPT ![v] = Outcome(slots[VcpuAs(v)][acc[v]])]

\* The vCPU holds mmu_lock between make_mmio_spte's generation read and the spte write; the zaps
\* (kvm_mmu_zap_all_fast, kvm_arch_flush_shadow_memslot) take it too and wait.
MmuLockFree == \A v \in Vcpus : pc[v] # "MarkMmioSpte"

\* The generation the arch hook is called with: the one about to be stored (since 152482580a1b)
\* or, before it, the one already stored.
HookGen == IF FixInProgress /\ FixHookFirst THEN gen[upd.as] + GenStep ELSE gen[upd.as]

\* The updater is at a step that zaps under mmu_lock for write.  mmu_lock is fair (a queued
\* spinlock, or a queued rwlock in which a waiting writer blocks new readers), so no vCPU takes it
\* while the zap waits: without this a vCPU could starve the zap, which the kernel's lock rules out.
ZapWaiting ==
    \/ upd.phase = "hook" /\ ZapOnWrap /\ Wraps(HookGen)
    \/ upd.phase = "flush" /\ FlushOnDelete

-----------------------------------------------------------------------------
(* The vCPU.  Each step names what it holds: the SRCU read side (kvm->srcu)  *)
(* or mmu_lock; "lockless" where it holds nothing that the writer takes.     *)

\* The guest starts an access to gfn g: natively (an instruction the CPU runs in guest mode, with
\* no SRCU read side held: vcpu_enter_guest unlocks kvm->srcu around VM-entry) or emulated (KVM's
\* emulator runs it inside KVM_RUN, holding kvm->srcu, as for CPL0 code on the live host).
BeginAccess(v, g, m) ==
    /\ pc[v] = "Idle"
    /\ pc' = [pc EXCEPT ![v] = IF m = "native" THEN "HwAccess" ELSE "Emulate"]
    /\ acc' = [acc EXCEPT ![v] = g]
    /\ mode' = [mode EXCEPT ![v] = m]
    /\ inCS' = [inCS EXCEPT ![v] = m = "emulated"]
    /\ saw' = [saw EXCEPT ![v] = Allowed(VcpuAs(v), g)]
    /\ UNCHANGED <<slots, gen, busy, spte, cache, dec, out, path, upd, spteLocal, genLocal>>

\* Lockless (guest mode): the hardware walks the spte: a present spte reads memory; an MMIO spte
\* has reserved bits set (reserved-bit fault -> handle_mmio_page_fault); no spte is an ordinary
\* page fault.  The read-side section is entered after the VM-exit, with the next step.
HwAccess(v) ==
    LET s == spte[VcpuAs(v)][acc[v]]
    IN /\ pc[v] = "HwAccess"
       /\ CASE s.kind = "ram" -> Decide(v, "ram", "hw")
            [] s.kind = "mmio" -> /\ pc' = [pc EXCEPT ![v] = "CheckCache"]
                                  /\ UNCHANGED <<out, path>>
            [] OTHER -> /\ pc' = [pc EXCEPT ![v] = "Lookup"]
                        /\ UNCHANGED <<out, path>>
       /\ UNCHANGED <<slots, gen, busy, spte, cache, dec, acc, mode, inCS, saw, upd,
                      spteLocal, genLocal>>

\* SRCU read side (entered here, after the VM-exit): handle_mmio_page_fault, first step:
\* mmio_info_in_cache (vcpu_match_mmio_gpa/gva), one read of the tagging AS's generation.
CheckCache(v) ==
    /\ pc[v] = "CheckCache"
    /\ inCS' = [inCS EXCEPT ![v] = TRUE]
    /\ IF CacheHit(v)
       THEN Decide(v, "mmio", "cache") /\ RecordDecision(v)
       ELSE /\ pc' = [pc EXCEPT ![v] = IF FixGenBeforeWalk THEN "ReadMmioGen" ELSE "GetMmioSpte"]
            /\ UNCHANGED <<dec, out, path>>
    /\ UNCHANGED <<slots, gen, busy, spte, cache, acc, mode, saw, upd, spteLocal, genLocal>>

\* SRCU read side, candidate fix FixGenBeforeWalk: handle_mmio_page_fault reads the vCPU's AS
\* generation once, BEFORE the walk, and check_mmio_spte compares with that value.  The wrap zap
\* clears the sptes before the final generation is stored, so a generation read after the store
\* is followed by a walk that finds no pre-wrap spte.  This read is the hit's linearization point.
ReadMmioGen(v) ==
    LET a == VcpuAs(v)
    IN /\ pc[v] = "ReadMmioGen"
       /\ genLocal' = [genLocal EXCEPT ![v] = [gen |-> gen[a], busy |-> busy[a]]]
       /\ RecordDecision(v)
       /\ pc' = [pc EXCEPT ![v] = "GetMmioSpte"]
       /\ UNCHANGED <<slots, gen, busy, spte, cache, acc, mode, inCS, saw, out, path, upd,
                      spteLocal>>

\* Lockless (SRCU read side only; the zaps do not wait for it): get_mmio_spte's walk
\* (walk_shadow_page_lockless_begin/end; the TDP MMU's kvm_tdp_mmu_get_walk under RCU) reads the
\* spte.  An spte that is no longer MMIO retries (RET_PF_RETRY).
GetMmioSpte(v) ==
    LET s == spte[VcpuAs(v)][acc[v]]
    IN /\ pc[v] = "GetMmioSpte"
       /\ IF s.kind # "mmio"
          THEN Retry(v)
          ELSE /\ pc' = [pc EXCEPT ![v] = "CheckSpte"]
               /\ spteLocal' = [spteLocal EXCEPT ![v] = s]
               /\ UNCHANGED <<dec, inCS, upd, genLocal>>
       /\ UNCHANGED <<slots, gen, busy, spte, cache, acc, mode, saw, out, path>>

\* Lockless (SRCU read side only): check_mmio_spte compares the walked spte's generation bits
\* with the vCPU's AS generation, read now (the kernel) or before the walk (FixGenBeforeWalk): a
\* miss while it is in progress (era A: odd; era B: bit 63), else a hit iff the stored bits equal
\* the generation's low bits.  A failed check takes the full page fault (RET_PF_INVALID).  Without
\* the candidate fix this generation read is the hit's linearization point.
CheckSpte(v) ==
    LET a == VcpuAs(v)
        g == IF FixGenBeforeWalk THEN genLocal[v] ELSE [gen |-> gen[a], busy |-> busy[a]]
    IN /\ pc[v] = "CheckSpte"
       /\ IF ~g.busy /\ spteLocal[v].gen = g.gen % GenMod
          THEN /\ pc' = [pc EXCEPT ![v] = "FillFromSpte"]
               /\ IF FixGenBeforeWalk THEN UNCHANGED dec ELSE RecordDecision(v)
          ELSE /\ pc' = [pc EXCEPT ![v] = "Lookup"]
               /\ dec' = [dec EXCEPT ![v] = "none"]
       /\ spteLocal' = [spteLocal EXCEPT ![v] = SpteNone]
       /\ genLocal' = [genLocal EXCEPT ![v] = NoGen]
       /\ UNCHANGED <<slots, gen, busy, spte, cache, acc, mode, inCS, saw, out, path, upd>>

\* SRCU read side: handle_mmio_page_fault after a passing check: vcpu_cache_mmio_info (one read
\* of the tagging AS's generation), then emulate as MMIO.
FillFromSpte(v) ==
    /\ pc[v] = "FillFromSpte"
    /\ FillCache(v)
    /\ Decide(v, "mmio", "spte")
    /\ UNCHANGED <<slots, gen, busy, spte, dec, acc, mode, inCS, saw, upd, spteLocal, genLocal>>

\* SRCU read side (entered here after a page fault's VM-exit): the slow path's memslot lookup in
\* the vCPU's AS (kvm_vcpu_gfn_to_memslot: one read of the published set).  An INVALID slot is a
\* gfn with no slot in era A; era B retries the fault (InvalidRetries).
Lookup(v) ==
    LET s == slots[VcpuAs(v)][acc[v]]
    IN /\ pc[v] = "Lookup"
       /\ CASE s = "ram" -> /\ pc' = [pc EXCEPT ![v] = "InstallRam"]
                            /\ inCS' = [inCS EXCEPT ![v] = TRUE]
                            /\ UNCHANGED <<dec, upd, spteLocal, genLocal>>
            [] s = "invalid" /\ InvalidRetries -> Retry(v)
            [] OTHER -> /\ pc' = [pc EXCEPT ![v] = "FillNoSlot"]
                        /\ inCS' = [inCS EXCEPT ![v] = TRUE]
                        /\ UNCHANGED <<dec, upd, spteLocal, genLocal>>
       /\ UNCHANGED <<slots, gen, busy, spte, cache, acc, mode, saw, out, path>>

\* mmu_lock: install the spte that maps the frame (the pfn was resolved from the lookup); one
\* write, under the lock the zaps take.
InstallRam(v) ==
    /\ pc[v] = "InstallRam"
    /\ spte' = [spte EXCEPT ![VcpuAs(v)][acc[v]] = SpteRam]
    /\ Decide(v, "ram", "slow")
    /\ UNCHANGED <<slots, gen, busy, cache, dec, acc, mode, inCS, saw, upd, spteLocal, genLocal>>

\* SRCU read side: no slot: vcpu_cache_mmio_info (one read of the tagging AS's generation, later
\* than the lookup).  With MMIO caching off no spte is made (kvm_handle_noslot_fault returns
\* RET_PF_EMULATE before taking mmu_lock).
FillNoSlot(v) ==
    /\ pc[v] = "FillNoSlot"
    /\ FillCache(v)
    /\ pc' = [pc EXCEPT ![v] = IF MmioSptes THEN "MakeMmioSpte" ELSE "Emulate"]
    /\ UNCHANGED <<slots, gen, busy, spte, dec, acc, mode, inCS, saw, out, path, upd,
                   spteLocal, genLocal>>

\* mmu_lock (taken here, held until MarkMmioSpte): make_mmio_spte reads the vCPU's AS generation
\* and masks it (the in-progress mark is dropped: bit 0 in era A, bit 63 in era B).  Publish and
\* StoreGen write the generation without mmu_lock, so they can come between this read and the
\* write.  Candidate fix FixNoSpteInFlux: no spte while the AS is in flux (kvm_handle_noslot_fault
\* would return RET_PF_EMULATE; its own read of the mark is folded into this one: a vCPU inside
\* the read side sees no final store between the two, only a new mark).
MakeMmioSpte(v) ==
    LET a == VcpuAs(v)
    IN /\ pc[v] = "MakeMmioSpte"
       /\ IF FixNoSpteInFlux /\ busy[a]
          THEN /\ pc' = [pc EXCEPT ![v] = "Emulate"]
               /\ UNCHANGED spteLocal
          ELSE /\ ~ZapWaiting
               /\ pc' = [pc EXCEPT ![v] = "MarkMmioSpte"]
               /\ spteLocal' = [spteLocal EXCEPT ![v] = SpteMmio(gen[a] % GenMod)]
       /\ UNCHANGED <<slots, gen, busy, spte, cache, dec, acc, mode, inCS, saw, out, path, upd,
                      genLocal>>

\* mmu_lock (released after): mark_mmio_spte / the TDP MMU's map writes the spte make_mmio_spte
\* built.
MarkMmioSpte(v) ==
    /\ pc[v] = "MarkMmioSpte"
    /\ spte' = [spte EXCEPT ![VcpuAs(v)][acc[v]] = spteLocal[v]]
    /\ spteLocal' = [spteLocal EXCEPT ![v] = SpteNone]
    /\ pc' = [pc EXCEPT ![v] = "Emulate"]
    /\ UNCHANGED <<slots, gen, busy, cache, dec, acc, mode, inCS, saw, out, path, upd, genLocal>>

\* SRCU read side: the emulator's gva->gpa translation (vcpu_mmio_gva_to_gpa) consults the
\* per-vCPU cache: one read of the tagging AS's generation.  A miss reads guest memory next.
Emulate(v) ==
    /\ pc[v] = "Emulate"
    /\ IF CacheHit(v)
       THEN Decide(v, "mmio", "cache") /\ RecordDecision(v)
       ELSE /\ pc' = [pc EXCEPT ![v] = "ReadGuest"]
            /\ UNCHANGED <<dec, out, path>>
    /\ UNCHANGED <<slots, gen, busy, spte, cache, acc, mode, inCS, saw, upd, spteLocal, genLocal>>

\* SRCU read side: the emulator reads guest memory through the memslots (kvm_vcpu_read_guest:
\* one read of the published set, separate from the cache's generation read): RAM reads memory,
\* no slot or an INVALID one is an MMIO exit.
ReadGuest(v) ==
    /\ pc[v] = "ReadGuest"
    /\ Decide(v, Outcome(slots[VcpuAs(v)][acc[v]]), "emulator")
    /\ UNCHANGED <<slots, gen, busy, spte, cache, dec, acc, mode, inCS, saw, upd,
                   spteLocal, genLocal>>

\* The access completes: leave the read-side section; the vCPU is idle again.
EndAccess(v) ==
    /\ pc[v] = "EndAccess"
    /\ pc' = [pc EXCEPT ![v] = "Idle"]
    /\ acc' = [acc EXCEPT ![v] = 0]
    /\ mode' = [mode EXCEPT ![v] = "none"]
    /\ inCS' = [inCS EXCEPT ![v] = FALSE]
    /\ saw' = [saw EXCEPT ![v] = {}]
    /\ out' = [out EXCEPT ![v] = "none"]
    /\ path' = [path EXCEPT ![v] = "none"]
    /\ dec' = [dec EXCEPT ![v] = "none"]
    /\ upd' = [upd EXCEPT !.waitFor = @ \ {v}]
    /\ UNCHANGED <<slots, gen, busy, spte, cache, spteLocal, genLocal>>

-----------------------------------------------------------------------------
(* The updater: one memslot operation at a time (kvm->slots_lock).         *)

\* What follows the last step of an install: the flush of stage 1 of a DELETE/MOVE, or the end.
AfterInstall(u) ==
    IF u.change.kind \in {"delete", "move"} /\ u.stage = 1
    THEN [u EXCEPT !.phase = "flush"]
    ELSE NoUpd(u.updates)

\* slots_lock: rcu_assign_pointer of the new memslots of AS a (first stage of change c, or the second stage
\* of the DELETE/MOVE in progress).  With ee3d1570b586 the new set carries the in-progress mark;
\* before it, the generation was incremented once, here, and never marked.  An operation starts
\* only if all of its installs fit in MaxUpdates.
Publish(a, c) ==
    LET st == IF upd.phase = "idle" THEN 1 ELSE 2
        newSlots == [slots EXCEPT ![a] = StageLayout(slots[a], c, st)]
        newUpd == [as |-> a, change |-> c, stage |-> st, phase |-> "sync",
                   waitFor |-> {v \in Vcpus : inCS[v]}, updates |-> upd.updates + 1]
    IN /\ \/ /\ upd.phase = "idle"
             /\ c \in Changes(a)
             /\ upd.updates + Installs(c) <= MaxUpdates
          \/ /\ upd.phase = "publish"
             /\ a = upd.as /\ c = upd.change
       /\ slots' = newSlots
       /\ IF FixInProgress
          THEN /\ busy' = [busy EXCEPT ![a] = TRUE]
               /\ UNCHANGED gen
          ELSE /\ gen' = [gen EXCEPT ![a] = @ + GenStep]
               /\ UNCHANGED busy
       /\ upd' = newUpd
       /\ CollectAllowed(newSlots, newUpd)
       /\ UNCHANGED <<spte, cache, dec, pc, acc, mode, inCS, out, path, spteLocal, genLocal>>

\* slots_lock (all updater steps hold it; vCPUs never take it).  synchronize_srcu_expedited returns:
\* every reader that was inside when the set was published has left.  (The kernel takes its wait
\* set when the call starts; the only thing between the pointer store and the call is the release
\* of slots_arch_lock, which no vCPU step takes, so taking it at Publish is the same set.)
SyncSrcu ==
    LET newUpd == [upd EXCEPT !.phase = IF FixInProgress /\ ~FixHookFirst THEN "store" ELSE "hook"]
    IN /\ upd.phase = "sync"
       /\ upd.waitFor = {}
       /\ upd' = newUpd
       /\ CollectAllowed(slots, newUpd)
       /\ UNCHANGED <<slots, gen, busy, spte, cache, dec, pc, acc, mode, inCS, out, path,
                      spteLocal, genLocal>>

\* slots_lock; mmu_lock for write while it zaps (kvm_mmu_zap_all_fast), so a zap waits for a vCPU
\* between MakeMmioSpte and MarkMmioSpte; lockless walks do not wait.
\* kvm_arch_memslots_updated -> kvm_mmu_invalidate_mmio_sptes(final generation): zap everything
\* when the MMIO generation wraps.  Since 152482580a1b it runs before StoreGen with the value
\* about to be stored; before, after it with the value already stored.
RunHook ==
    LET newUpd == IF FixInProgress /\ FixHookFirst
                  THEN [upd EXCEPT !.phase = "store"]
                  ELSE AfterInstall(upd)
        zap == ZapOnWrap /\ Wraps(HookGen)
    IN /\ upd.phase = "hook"
       /\ zap => MmuLockFree
       /\ spte' = IF zap THEN ZapAll ELSE spte
       /\ upd' = newUpd
       /\ CollectAllowed(slots, newUpd)
       /\ UNCHANGED <<slots, gen, busy, cache, dec, pc, acc, mode, inCS, out, path,
                      spteLocal, genLocal>>

\* slots_lock only (no mmu_lock): the final generation becomes visible: drop the mark and add
\* GenStep (ee3d1570b586).  One 64-bit store.
StoreGen ==
    LET a == upd.as
        newUpd == IF FixHookFirst THEN AfterInstall(upd) ELSE [upd EXCEPT !.phase = "hook"]
    IN /\ upd.phase = "store"
       /\ gen' = [gen EXCEPT ![a] = @ + GenStep]
       /\ busy' = [busy EXCEPT ![a] = FALSE]
       /\ upd' = newUpd
       /\ CollectAllowed(slots, newUpd)
       /\ UNCHANGED <<slots, spte, cache, dec, pc, acc, mode, inCS, out, path,
                      spteLocal, genLocal>>

\* slots_lock; mmu_lock for write while it zaps.
\* kvm_arch_flush_shadow_memslot after the INVALID copy is installed: zap the old slot's sptes
\* (every spte of the VM with the SLOT_ZAP_ALL quirk); then stage 2 is published.
FlushSlot ==
    LET a == upd.as
        newUpd == [upd EXCEPT !.stage = 2, !.phase = "publish"]
    IN /\ upd.phase = "flush"
       /\ FlushOnDelete => MmuLockFree
       /\ spte' = CASE ~FlushOnDelete -> spte
                    [] FlushZapsAll -> ZapAll
                    [] OTHER -> [spte EXCEPT ![a][upd.change.gfn] = SpteNone]
       /\ upd' = newUpd
       /\ CollectAllowed(slots, newUpd)
       /\ UNCHANGED <<slots, gen, busy, cache, dec, pc, acc, mode, inCS, out, path,
                      spteLocal, genLocal>>

-----------------------------------------------------------------------------
Init ==
    /\ slots = [a \in ASes |-> [g \in Gfns |-> IF g \in InitRam THEN "ram" ELSE "none"]]
    /\ gen = [a \in ASes |-> InitGenOf(a)]
    /\ busy = [a \in ASes |-> FALSE]
    /\ spte = [a \in ASes |-> [g \in Gfns |-> SpteNone]]
    /\ cache = [v \in Vcpus |-> NoCache]
    /\ dec = [v \in Vcpus |-> "none"]
    /\ pc = [v \in Vcpus |-> "Idle"]
    /\ acc = [v \in Vcpus |-> 0]
    /\ mode = [v \in Vcpus |-> "none"]
    /\ inCS = [v \in Vcpus |-> FALSE]
    /\ saw = [v \in Vcpus |-> {}]
    /\ out = [v \in Vcpus |-> "none"]
    /\ path = [v \in Vcpus |-> "none"]
    /\ upd = NoUpd(0)
    /\ spteLocal = [v \in Vcpus |-> SpteNone]
    /\ genLocal = [v \in Vcpus |-> NoGen]

VcpuStep(v) ==
    \/ HwAccess(v) \/ CheckCache(v) \/ ReadMmioGen(v) \/ GetMmioSpte(v) \/ CheckSpte(v)
    \/ FillFromSpte(v) \/ Lookup(v) \/ InstallRam(v) \/ FillNoSlot(v) \/ MakeMmioSpte(v)
    \/ MarkMmioSpte(v) \/ Emulate(v) \/ ReadGuest(v) \/ EndAccess(v)

\* The steps of an operation already started (weakly fair: an operation runs to its end).
UpdaterStep ==
    \/ upd.phase = "publish" /\ Publish(upd.as, upd.change)
    \/ SyncSrcu \/ RunHook \/ StoreGen \/ FlushSlot

\* Publish is quantified over the constant AllChanges (it checks Changes itself), so that TLC
\* labels its steps "Publish" in traces and state-graph dumps; UpdaterStep serves Fairness only.
Next ==
    \/ \E v \in Vcpus, g \in Gfns, m \in Modes : BeginAccess(v, g, m)
    \/ \E v \in Vcpus : VcpuStep(v)
    \/ \E a \in ASes, c \in AllChanges : Publish(a, c)
    \/ SyncSrcu \/ RunHook \/ StoreGen \/ FlushSlot

Fairness == /\ \A v \in Vcpus : WF_vars(VcpuStep(v))
            /\ WF_vars(UpdaterStep)

Spec == Init /\ [][Next]_vars /\ Fairness

\* Sound only when every vCPU plays the same part: SmmVcpus empty or all of Vcpus (a vCPU in SMM
\* uses address space 1 and is not interchangeable with one outside it).  No temporal property
\* is checked under it (TLC's liveness checking is not sound with SYMMETRY).
Symmetry == Permutations(Vcpus)

-----------------------------------------------------------------------------
(* Invariants.                                                             *)

Pcs == {"Idle", "HwAccess", "CheckCache", "ReadMmioGen", "GetMmioSpte", "CheckSpte",
        "FillFromSpte", "Lookup", "InstallRam", "FillNoSlot", "MakeMmioSpte", "MarkMmioSpte",
        "Emulate", "ReadGuest", "EndAccess"}
Phases == {"idle", "publish", "sync", "hook", "store", "flush"}
MaxGen == InitGenOf(NrAs - 1) + MaxUpdates * GenStep

TypeOK ==
    /\ slots \in [ASes -> [Gfns -> {"ram", "none", "invalid"}]]
    /\ spte \in [ASes -> [Gfns -> [kind : {"none", "ram", "mmio"}, gen : Nat]]]
    /\ gen \in [ASes -> 0 .. MaxGen]
    /\ busy \in [ASes -> BOOLEAN]
    /\ \A a \in ASes, g \in Gfns :
          spte[a][g] \in {SpteNone, SpteRam} \/ spte[a][g] \in [kind : {"mmio"}, gen : 0 .. GenMod - 1]
    /\ cache \in [Vcpus -> [gfn : {0} \cup Gfns, gen : 0 .. MaxGen, busy : BOOLEAN]]
    /\ dec \in [Vcpus -> {"none", "ram", "mmio"}]
    /\ pc \in [Vcpus -> Pcs]
    /\ acc \in [Vcpus -> {0} \cup Gfns]
    /\ mode \in [Vcpus -> {"none"} \cup Modes]
    /\ inCS \in [Vcpus -> BOOLEAN]
    /\ saw \in [Vcpus -> SUBSET {"ram", "mmio"}]
    /\ out \in [Vcpus -> {"none", "ram", "mmio"}]
    /\ path \in [Vcpus -> {"none", "hw", "cache", "spte", "slow", "emulator"}]
    /\ upd.as \in ASes /\ upd.stage \in 0 .. 2 /\ upd.phase \in Phases
    /\ upd.change \in {NoChange} \cup [kind : Kinds, gfn : Gfns, to : {0} \cup Gfns]
    /\ upd.waitFor \subseteq Vcpus /\ upd.updates \in 0 .. MaxUpdates
    /\ \A v \in Vcpus : spteLocal[v] \in {SpteNone} \cup [kind : {"mmio"}, gen : 0 .. GenMod - 1]
    /\ genLocal \in [Vcpus -> [gen : 0 .. MaxGen, busy : BOOLEAN]]

\* The user contract (weak): every outcome is one the contract allowed during the access.
ObservationsAllowed == \A v \in Vcpus : out[v] # "none" => out[v] \in saw[v]

\* What the seed buys (strong): a cache hit or a passing spte check agrees with the layout
\* published at the moment it decided.
CachedMmioIsCurrent ==
    \A v \in Vcpus : path[v] \in {"cache", "spte"} => out[v] = dec[v]

\* The seed's own statement: no cache tag carries the in-progress mark.
NoCacheWhileBusy == \A v \in Vcpus : ~cache[v].busy

\* Witnesses, expected to fail: caching is used at all.
NeverCacheHit == \A v \in Vcpus : path[v] # "cache"
NeverSpteHit == \A v \in Vcpus : path[v] # "spte"

(* Liveness, under Fairness.                                               *)
OperationsFinish == upd.phase # "idle" ~> upd.phase = "idle"
AccessesFinish == \A v \in Vcpus : pc[v] # "Idle" ~> pc[v] = "Idle"

=============================================================================
