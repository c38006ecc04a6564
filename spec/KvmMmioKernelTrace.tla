------------------------- MODULE KvmMmioKernelTrace -------------------------
(***************************************************************************)
(* Trace validation of the live kernel: can some behaviour of the spec     *)
(* produce an event log recorded on /dev/kvm?  (After etcd-raft's          *)
(* Traceetcdraft.tla.)  A log is the totally ordered list of what one run  *)
(* observed: userspace's markers (each KVM_SET_USER_MEMORY_REGION's begin  *)
(* and end, each guest access's begin and result) and the kernel's trace   *)
(* events, from one tracefs clock.  Every event must be matched, in order, *)
(* by an action of the spec with the observed parameters or by the         *)
(* observed part of the state; between two events the spec may take at    *)
(* most MaxHidden unobserved steps.  Many logs are checked in ONE run of   *)
(* TLC: Init picks the log.  TLC prints <<"reached", log, k>> whenever     *)
(* event k of a log is matched, so the caller learns, for each log, the    *)
(* first event no behaviour explains (run with -deadlock: every log ends). *)
(* With ShowLast, it also prints each state in which a log's last event is *)
(* matched: run on a rejected log cut before its first unexplained event,  *)
(* that is the state the spec was in when it could not go on.             *)
(*                                                                         *)
(* The events, in the generated module KvmMmioKernelTraceData:             *)
(*   Logs == << <<e1, e2, ...>>, ... >>, each event a tuple <<code, x, y, z>> *)
(*   code 1 ioctl begins   <<1, kind, gfn, to>>  kind an index in KindNames *)
(*                         (0: the ioctl changed nothing: refused, no-op)  *)
(*   code 2 ioctl returned <<2, 0, 0, 0>>                                  *)
(*   code 3 access begins  <<3, gfn, mode, 0>>   mode an index in ModeNames *)
(*   code 4 result         <<4, gfn, out, 0>>    out 1 "ram", 2 "mmio"     *)
(*   code 5 cache hit      <<5, gfn, 0, 0>>      kvm/vcpu_match_mmio       *)
(*   code 6 MMIO decided   <<6, gfn, 0, 0>>      kvm/kvm_mmio              *)
(*   code 7 zap            <<7, 0, 0, 0>>        kvm_mmu_zap_all_fast      *)
(* gfns are renumbered 1 .. |Gfns|.  The logs have one vCPU.               *)
(*                                                                         *)
(* Which action matches which event (spec/README.md, "Kernel trace         *)
(* validation", says why each is sound):                                   *)
(*   ioctl begins  -> no step yet: it permits the change's first Publish,  *)
(*                    an unobserved step taken when the kernel publishes;  *)
(*   ioctl returned-> the change's installs all done: upd.phase = "idle";  *)
(*   access begins -> BeginAccess(v, g, m);                                *)
(*   result        -> the access decided the observed outcome and ended   *)
(*                    (both unobserved steps before it: userspace writes   *)
(*                    the result once KVM_RUN has returned);               *)
(*   MMIO decided  -> the access's decision (an unobserved step before     *)
(*                    it) with out = "mmio";                               *)
(*   cache hit     -> Emulate(v) deciding with path "cache";               *)
(*   zap           -> FlushSlot, or RunHook zapping at a generation wrap.  *)
(* Unobserved: every other step, except a zap and a cache hit, which the   *)
(* kernel always traces (a log that lost one is rejected).                 *)
(***************************************************************************)
EXTENDS KvmMmio, KvmMmioKernelTraceData, Sequences, TLC

CONSTANTS
    MaxHidden,  \* unobserved steps allowed between two events
    ShowLast    \* print every state in which the last event of a log is matched

ASSUME Gfns = 1 .. Cardinality(Gfns)
ASSUME Cardinality(Vcpus) = 1 /\ MaxHidden \in Nat /\ ShowLast \in BOOLEAN

VARIABLES
    ti,      \* the log followed
    cursor,  \* how many of its events are matched
    hidden,  \* unobserved steps since the last matched event
    req,     \* the ioctl in flight as userspace sees it: [change, state]; state "none",
             \* "asked" (begun, not yet published), "started" (published), "noop"
    last     \* [gfn, out] of the vCPU's last completed access (a result may be written later)

traceVars == <<ti, cursor, hidden, req, last>>

KindNames == <<"create", "delete", "move", "flags">>
ModeNames == <<"native", "emulated">>
OutNames == <<"ram", "mmio">>
TheVcpu == CHOOSE v \in Vcpus : TRUE
NoReq == [change |-> NoChange, state |-> "none"]
NoLast == [gfn |-> 0, out |-> "none"]

\* The observed part of the state: the vCPU's current access g decided o, or, once it ended,
\* its last access did.
Decided(v, g, o) ==
    IF pc[v] = "Idle" THEN last[v] = [gfn |-> g, out |-> o] ELSE acc[v] = g /\ out[v] = o

\* A zapping step: traced by kvm_mmu_zap_all_fast.
Zap == \/ FlushSlot
       \/ RunHook /\ ZapOnWrap /\ Wraps(HookGen)

\* The unobserved steps.  Publish only of the change userspace asked for (its first stage,
\* once) or of the second stage of the one in progress.
HiddenUpdater ==
    \/ /\ upd.phase = "idle" /\ req.state = "asked"
       /\ Publish(0, req.change)
       /\ req' = [req EXCEPT !.state = "started"]
    \/ /\ upd.phase = "publish"
       /\ Publish(upd.as, upd.change)
       /\ UNCHANGED req
    \/ (SyncSrcu \/ StoreGen \/ (RunHook /\ ~(ZapOnWrap /\ Wraps(HookGen)))) /\ UNCHANGED req

HiddenVcpu(v) ==
    \/ /\ \/ HwAccess(v) \/ CheckCache(v) \/ ReadMmioGen(v) \/ GetMmioSpte(v)
          \/ CheckSpte(v) \/ FillFromSpte(v) \/ Lookup(v) \/ InstallRam(v) \/ FillNoSlot(v)
          \/ MakeMmioSpte(v) \/ MarkMmioSpte(v) \/ ReadGuest(v)
          \/ Emulate(v) /\ path'[v] # "cache"
       /\ UNCHANGED last
    \/ /\ EndAccess(v)
       /\ last' = [last EXCEPT ![v] = [gfn |-> acc[v], out |-> out[v]]]

\* A reduction of the interleavings that accepts exactly the same logs: a decided access ends at
\* once (EndAccess before any other step or event).  EndAccess is always enabled once the access
\* decided, reads only the vCPU's own variables, and only leaves the read side and resets them;
\* taken earlier it can only shrink the set Publish waits for, and every event that follows a
\* decision is matched as well after it (by last).  It spares TLC every interleaving of the
\* updater with a vCPU that has nothing left to do but end.  (The same for the hardware walk
\* would not be exact: a zap event needs the updater's unobserved steps before it, and the walk
\* may have to come after the zap; a real log showed it.)
Ending == pc[TheVcpu] = "EndAccess"

Hidden ==
    /\ hidden < MaxHidden
    /\ \/ ~Ending /\ HiddenUpdater /\ UNCHANGED last
       \/ HiddenVcpu(TheVcpu) /\ UNCHANGED req
    /\ hidden' = hidden + 1
    /\ UNCHANGED <<ti, cursor>>

\* Event e matched: a step of the spec, or the observed part of the state (no step).
Observe(e) ==
    LET v == TheVcpu IN
    CASE e[1] = 1 -> /\ req.state = "none"
                     /\ req' = IF e[2] = 0 THEN [NoReq EXCEPT !.state = "noop"]
                               ELSE [change |-> [kind |-> KindNames[e[2]], gfn |-> e[3],
                                                 to |-> e[4]],
                                     state |-> "asked"]
                     /\ UNCHANGED <<vars, last>>
      [] e[1] = 2 -> /\ \/ req.state = "started" /\ upd.phase = "idle"
                        \/ req.state = "noop"
                     /\ req' = NoReq
                     /\ UNCHANGED <<vars, last>>
      [] e[1] = 3 -> BeginAccess(v, e[2], ModeNames[e[3]]) /\ UNCHANGED <<req, last>>
      [] e[1] = 4 -> /\ pc[v] = "Idle"
                     /\ last[v] = [gfn |-> e[2], out |-> OutNames[e[3]]]
                     /\ UNCHANGED <<vars, req, last>>
      [] e[1] = 5 -> /\ acc[v] = e[2]
                     /\ Emulate(v) /\ path'[v] = "cache"
                     /\ UNCHANGED <<req, last>>
      [] e[1] = 6 -> Decided(v, e[2], "mmio") /\ UNCHANGED <<vars, req, last>>
      [] e[1] = 7 -> Zap /\ UNCHANGED <<req, last>>
      [] OTHER -> FALSE

\* What TLC tells states apart by (its VIEW): not the history variables saw and dec, which no
\* action reads, nor the count of unobserved steps; two states that differ only in those match
\* the same events from then on (a state is explored once, with the budget of unobserved steps
\* left at its first visit: MaxHidden is set with slack over what a log needs).  Without it,
\* each interleaving of the updater's steps with an access's leaves its own saw, and the state
\* space of a log grows several times over.
TraceView == <<slots, gen, busy, spte, cache, pc, acc, mode, inCS, out, path, upd, spteLocal,
               genLocal, ti, cursor, req, last>>

TraceInit ==
    /\ ti \in 1 .. Len(Logs)
    /\ cursor = 0
    /\ hidden = 0
    /\ req = NoReq
    /\ last = [v \in Vcpus |-> NoLast]
    /\ Init

TraceNext ==
    \/ /\ cursor < Len(Logs[ti])
       /\ ~Ending
       /\ Observe(Logs[ti][cursor + 1])
       /\ cursor' = cursor + 1
       /\ hidden' = 0
       /\ ti' = ti
       /\ PrintT(<<"reached", ti, cursor + 1>>)
       /\ ShowLast /\ cursor' = Len(Logs[ti]) =>
             PrintT(<<"state", ti, [slots |-> slots', gen |-> gen', busy |-> busy',
                                    spte |-> spte', cache |-> cache', pc |-> pc', acc |-> acc',
                                    out |-> out', path |-> path', upd |-> upd', req |-> req',
                                    last |-> last']>>)
    \/ Hidden

=============================================================================
