--------------------------- MODULE KvmMmioTrace ---------------------------
(***************************************************************************)
(* Trace validation: does the spec accept a behaviour recorded elsewhere   *)
(* (by the Python reference, an adapter, a log)?  Many traces are checked  *)
(* in ONE run of TLC: Init picks a trace index, and each step must be the  *)
(* spec's Next, the recorded action with its recorded parameters, and      *)
(* exactly the recorded next state.  A trace is accepted when its last     *)
(* state is reached; TLC prints <<"reached", trace, state>> each time it   *)
(* reaches a state of a trace, so the caller learns the longest accepted   *)
(* prefix of every trace (run with -deadlock: every trace ends).           *)
(*                                                                         *)
(* The traces are in the generated module KvmMmioTraceData (written next   *)
(* to this one for each batch) as nested tuples, which TLC parses far      *)
(* faster than records:                                                    *)
(*   TraceVcpus == <<v1, v2>>   (the vCPU model values, in index order)   *)
(*   Traces == << trace, ... >>, trace == << step, ... >>,                *)
(*   step == << action, params, state >> (action "Init" for the first).   *)
(* A state is the tuple of the spec's variables in `vars` order:           *)
(*   slots   per AS (index a+1), per gfn (index g): string                 *)
(*   gen, busy  per AS                                                     *)
(*   spte    per AS, per gfn: <<kind, gen>>                                *)
(*   cache   per vCPU (index in TraceVcpus): <<gfn, gen, busy>>            *)
(*   dec, pc, acc, mode, inCS, saw, out, path   per vCPU                   *)
(*   upd     <<as, <<kind, gfn, to>>, stage, phase, waitFor, updates>>     *)
(*           with waitFor a set of vCPU indexes.                           *)
(* Parameters: vCPUs by index; Publish's change as <<kind, gfn, to>>.      *)
(***************************************************************************)
EXTENDS KvmMmio, KvmMmioTraceData, Sequences, TLC

ASSUME Gfns = 1 .. Cardinality(Gfns)
ASSUME {TraceVcpus[i] : i \in 1 .. Len(TraceVcpus)} = Vcpus

VARIABLES ti, cursor   \* the trace followed, and the index of its current state

V(i) == TraceVcpus[i]
PerAs(t) == [a \in ASes |-> t[a + 1]]
PerGfn(t) == [g \in Gfns |-> t[g]]
PerVcpu(t) == [v \in Vcpus |-> t[CHOOSE i \in 1 .. Len(TraceVcpus) : TraceVcpus[i] = v]]
AsChange(t) == [kind |-> t[1], gfn |-> t[2], to |-> t[3]]

\* The value of each variable in recorded state s (a tuple in `vars` order).
DSlots(s) == [a \in ASes |-> PerGfn(s[1][a + 1])]
DSpte(s) == [a \in ASes |-> [g \in Gfns |-> [kind |-> s[4][a + 1][g][1], gen |-> s[4][a + 1][g][2]]]]
DCache(s) == [v \in Vcpus |-> [gfn |-> PerVcpu(s[5])[v][1], gen |-> PerVcpu(s[5])[v][2],
                                busy |-> PerVcpu(s[5])[v][3]]]
DUpd(s) == [as |-> s[14][1], change |-> AsChange(s[14][2]), stage |-> s[14][3],
            phase |-> s[14][4], waitFor |-> {V(i) : i \in s[14][5]}, updates |-> s[14][6]]

\* The current state is recorded state s.
IsState(s) ==
    /\ slots = DSlots(s) /\ gen = PerAs(s[2]) /\ busy = PerAs(s[3]) /\ spte = DSpte(s)
    /\ cache = DCache(s) /\ dec = PerVcpu(s[6]) /\ pc = PerVcpu(s[7]) /\ acc = PerVcpu(s[8])
    /\ mode = PerVcpu(s[9]) /\ inCS = PerVcpu(s[10]) /\ saw = PerVcpu(s[11])
    /\ out = PerVcpu(s[12]) /\ path = PerVcpu(s[13]) /\ upd = DUpd(s)

\* The next state is recorded state s.
IsNextState(s) ==
    /\ slots' = DSlots(s) /\ gen' = PerAs(s[2]) /\ busy' = PerAs(s[3]) /\ spte' = DSpte(s)
    /\ cache' = DCache(s) /\ dec' = PerVcpu(s[6]) /\ pc' = PerVcpu(s[7]) /\ acc' = PerVcpu(s[8])
    /\ mode' = PerVcpu(s[9]) /\ inCS' = PerVcpu(s[10]) /\ saw' = PerVcpu(s[11])
    /\ out' = PerVcpu(s[12]) /\ path' = PerVcpu(s[13]) /\ upd' = DUpd(s)

\* The named action of the spec with the recorded parameters.
Action(name, p) ==
    CASE name = "BeginAccess" -> BeginAccess(V(p[1]), p[2], p[3])
      [] name = "HwAccess" -> HwAccess(V(p[1]))
      [] name = "CheckCache" -> CheckCache(V(p[1]))
      [] name = "CheckSpte" -> CheckSpte(V(p[1]))
      [] name = "FillFromSpte" -> FillFromSpte(V(p[1]))
      [] name = "Lookup" -> Lookup(V(p[1]))
      [] name = "InstallRam" -> InstallRam(V(p[1]))
      [] name = "FillNoSlot" -> FillNoSlot(V(p[1]))
      [] name = "MarkMmioSpte" -> MarkMmioSpte(V(p[1]))
      [] name = "Emulate" -> Emulate(V(p[1]))
      [] name = "EndAccess" -> EndAccess(V(p[1]))
      [] name = "Publish" -> Publish(p[1], AsChange(p[2]))
      [] name = "SyncSrcu" -> SyncSrcu
      [] name = "RunHook" -> RunHook
      [] name = "StoreGen" -> StoreGen
      [] name = "FlushSlot" -> FlushSlot
      [] OTHER -> FALSE

TraceInit ==
    /\ ti \in 1 .. Len(Traces)
    /\ cursor = 1
    /\ Traces[ti][1][1] = "Init"
    /\ IsState(Traces[ti][1][3])
    /\ Init
    /\ PrintT(<<"reached", ti, 1>>)

TraceNext ==
    /\ cursor < Len(Traces[ti])
    /\ LET step == Traces[ti][cursor + 1]
       IN /\ IsNextState(step[3])
          /\ Next
          /\ Action(step[1], step[2])
    /\ cursor' = cursor + 1
    /\ ti' = ti
    /\ PrintT(<<"reached", ti, cursor + 1>>)

=============================================================================
