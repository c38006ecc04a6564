--------------------------- MODULE KvmMmioTrace ---------------------------
(***************************************************************************)
(* Trace validation: does the spec accept a behaviour recorded elsewhere   *)
(* (by the Python reference, an adapter, a log)?  Many traces are checked  *)
(* in ONE run of TLC: Init picks a trace index, and each step must be the  *)
(* recorded action of Next with its recorded parameters (in Next's ranges) *)
(* and lead to exactly the recorded next state.  A trace is accepted when  *)
(* its last state is reached; TLC prints <<"reached", trace, state>> each  *)
(* time it reaches a state of a trace, so the caller learns the longest    *)
(* accepted prefix of every trace (run with -deadlock: every trace ends).  *)
(*                                                                         *)
(* The traces are in the generated module KvmMmioTraceData, written next   *)
(* to this one for each batch.  TLC parses a large module slowly, so it is *)
(* kept small: the distinct states once each, as flat tuples of small      *)
(* integers packed into words, the distinct steps once each, and each      *)
(* trace as a flat tuple of numbers.                                       *)
(*   TraceVcpus == <<v1, ...>>   the vCPU model values, in index order     *)
(*   Digit == d, PerWord == p    a word holds p values of d bits each,     *)
(*      lowest first (d * p <= 30: TLC's integers are 32-bit)              *)
(*   States == << state, ... >>  every distinct state of the batch, as     *)
(*      the words of its flat tuple (the last word padded with zeros)      *)
(*   Steps == << step, ... >>    every distinct step of the batch          *)
(*   Traces == << <<s1, t1, s2, t2, ...>>, ... >>: the k-th state of a     *)
(*      trace is reached by step Steps[sk] and is state States[tk]         *)
(*   step == <<action, x1, x2, x3, x4>>: an index in ActionNames ("Init"   *)
(*      for the first step) and the parameters (BeginAccess: vCPU index,   *)
(*      gfn, mode index; Publish: AS, kind index, gfn, to; a vCPU step:    *)
(*      vCPU index; 0 where unused).                                       *)
(* A state lists, with nA = NrAs, nG = |Gfns|, nV = |Vcpus|, strings as    *)
(* their index in the name tables below, sets as bit masks:               *)
(*   slots[a][g] (nA*nG), gen[a] (nA), busy[a] (nA, 0/1),                  *)
(*   spte[a][g] as kind, gen (2*nA*nG), cache[v] as gfn, gen, busy (3*nV), *)
(*   then for each v: dec, pc, acc, mode, inCS, saw, out, path, spteLocal  *)
(*   as kind, gen, genLocal as gen, busy (12*nV),                          *)
(*   upd: as, kind, gfn, to, stage, phase, waitFor, updates (8).           *)
(***************************************************************************)
EXTENDS KvmMmio, KvmMmioTraceData, Sequences, TLC

ASSUME Gfns = 1 .. Cardinality(Gfns)
ASSUME {TraceVcpus[i] : i \in 1 .. Len(TraceVcpus)} = Vcpus

VARIABLES ti, cursor   \* the trace followed, and the index of its current state

ActionNames == <<"Init", "BeginAccess", "HwAccess", "CheckCache", "ReadMmioGen", "GetMmioSpte",
                 "CheckSpte", "FillFromSpte", "Lookup", "InstallRam", "FillNoSlot",
                 "MakeMmioSpte", "MarkMmioSpte", "Emulate", "ReadGuest", "EndAccess",
                 "Publish", "SyncSrcu", "RunHook", "StoreGen", "FlushSlot">>
SlotNames == <<"none", "ram", "invalid">>
SpteKinds == <<"none", "ram", "mmio">>
Outcomes == <<"none", "ram", "mmio">>
PcNames == <<"Idle", "HwAccess", "CheckCache", "ReadMmioGen", "GetMmioSpte", "CheckSpte",
             "FillFromSpte", "Lookup", "InstallRam", "FillNoSlot", "MakeMmioSpte",
             "MarkMmioSpte", "Emulate", "ReadGuest", "EndAccess">>
ModeNames == <<"none", "native", "emulated">>
PathNames == <<"none", "hw", "cache", "spte", "slow", "emulator">>
KindNames == <<"none", "create", "delete", "move", "flags">>
PhaseNames == <<"idle", "publish", "sync", "hook", "store", "flush">>

nA == NrAs
nG == Cardinality(Gfns)
nV == Len(TraceVcpus)
V(i) == TraceVcpus[i]
PosOf == [v \in Vcpus |-> CHOOSE i \in 1 .. nV : TraceVcpus[i] = v]   \* evaluated once
Pos(v) == PosOf[v]
Bit(x, i) == (x \div (2 ^ i)) % 2 = 1
Name(names, code) == IF code + 1 \in 1 .. Len(names) THEN names[code + 1] ELSE "?"

\* Offsets of each variable in a flat state (an index is offset + position, from 1).
OGen == nA * nG
OBusy == OGen + nA
OSpte == OBusy + nA
OCache == OSpte + 2 * nA * nG
OVcpu == OCache + 3 * nV
OUpd == OVcpu + 12 * nV

\* The value of each variable in flat state s.
DSlots(s) == [a \in ASes |-> [g \in Gfns |-> Name(SlotNames, s[a * nG + g])]]
DGen(s) == [a \in ASes |-> s[OGen + a + 1]]
DBusy(s) == [a \in ASes |-> s[OBusy + a + 1] = 1]
DSpte(s) == [a \in ASes |-> [g \in Gfns |->
                [kind |-> Name(SpteKinds, s[OSpte + 2 * (a * nG + g) - 1]),
                 gen |-> s[OSpte + 2 * (a * nG + g)]]]]
DCache(s) == [v \in Vcpus |-> [gfn |-> s[OCache + 3 * Pos(v) - 2],
                               gen |-> s[OCache + 3 * Pos(v) - 1],
                               busy |-> s[OCache + 3 * Pos(v)] = 1]]
\* The k-th (1..12) per-vCPU field of v.
F(s, v, k) == s[OVcpu + 12 * (Pos(v) - 1) + k]
DSaw(x) == {o \in {"ram", "mmio"} : Bit(x, IF o = "ram" THEN 0 ELSE 1)}
DUpd(s) == [as |-> s[OUpd + 1],
            change |-> [kind |-> Name(KindNames, s[OUpd + 2]), gfn |-> s[OUpd + 3],
                        to |-> s[OUpd + 4]],
            stage |-> s[OUpd + 5],
            phase |-> Name(PhaseNames, s[OUpd + 6]),
            waitFor |-> {V(i) : i \in {j \in 1 .. nV : Bit(s[OUpd + 7], j - 1)}},
            updates |-> s[OUpd + 8]]

\* Every state of the batch decoded, once: a zero-arity constant definition, which TLC evaluates
\* before the search starts, so that a step compares values instead of decoding a state again.
Decode(s) ==
    [slots |-> DSlots(s), gen |-> DGen(s), busy |-> DBusy(s), spte |-> DSpte(s),
     cache |-> DCache(s),
     dec |-> [v \in Vcpus |-> Name(Outcomes, F(s, v, 1))],
     pc |-> [v \in Vcpus |-> Name(PcNames, F(s, v, 2))],
     acc |-> [v \in Vcpus |-> F(s, v, 3)],
     mode |-> [v \in Vcpus |-> Name(ModeNames, F(s, v, 4))],
     inCS |-> [v \in Vcpus |-> F(s, v, 5) = 1],
     saw |-> [v \in Vcpus |-> DSaw(F(s, v, 6))],
     out |-> [v \in Vcpus |-> Name(Outcomes, F(s, v, 7))],
     path |-> [v \in Vcpus |-> Name(PathNames, F(s, v, 8))],
     upd |-> DUpd(s),
     spteLocal |-> [v \in Vcpus |-> [kind |-> Name(SpteKinds, F(s, v, 9)), gen |-> F(s, v, 10)]],
     genLocal |-> [v \in Vcpus |-> [gen |-> F(s, v, 11), busy |-> F(s, v, 12) = 1]]]
\* The flat tuple of a state, from its words (a flat tuple's index is from 1).
Unpack(w) == [i \in 1 .. PerWord * Len(w) |->
                (w[(i - 1) \div PerWord + 1] \div (2 ^ (Digit * ((i - 1) % PerWord))))
                    % (2 ^ Digit)]
Decoded == [i \in 1 .. Len(States) |-> Decode(Unpack(States[i]))]

\* The current state is state i of the batch.
IsState(i) ==
    LET d == Decoded[i] IN
    /\ slots = d.slots /\ gen = d.gen /\ busy = d.busy /\ spte = d.spte /\ cache = d.cache
    /\ dec = d.dec /\ pc = d.pc /\ acc = d.acc /\ mode = d.mode /\ inCS = d.inCS
    /\ saw = d.saw /\ out = d.out /\ path = d.path /\ upd = d.upd
    /\ spteLocal = d.spteLocal /\ genLocal = d.genLocal

\* The next state is state i of the batch.
IsNextState(i) ==
    LET d == Decoded[i] IN
    /\ slots' = d.slots /\ gen' = d.gen /\ busy' = d.busy /\ spte' = d.spte /\ cache' = d.cache
    /\ dec' = d.dec /\ pc' = d.pc /\ acc' = d.acc /\ mode' = d.mode /\ inCS' = d.inCS
    /\ saw' = d.saw /\ out' = d.out /\ path' = d.path /\ upd' = d.upd
    /\ spteLocal' = d.spteLocal /\ genLocal' = d.genLocal

Change(p) == [kind |-> Name(KindNames, p[3]), gfn |-> p[4], to |-> p[5]]

\* The step's parameters are in the ranges over which Next quantifies its actions, so that
\* Action(step) below is one of Next's disjuncts (checking Next itself would make TLC evaluate
\* every disjunct of Next for every step of every trace).
InRange(step) ==
    LET name == Name(ActionNames, step[1]) IN
    CASE name = "BeginAccess" ->
            step[2] \in 1 .. nV /\ step[3] \in Gfns /\ Name(ModeNames, step[4]) \in Modes
      [] name = "Publish" -> step[2] \in ASes /\ Change(step) \in AllChanges
      [] name \in {"SyncSrcu", "RunHook", "StoreGen", "FlushSlot"} -> TRUE
      [] OTHER -> step[2] \in 1 .. nV

\* The recorded action of the spec with its recorded parameters.
Action(step) ==
    LET name == Name(ActionNames, step[1])
        v == V(step[2])
    IN CASE name = "BeginAccess" -> BeginAccess(v, step[3], Name(ModeNames, step[4]))
         [] name = "HwAccess" -> HwAccess(v)
         [] name = "CheckCache" -> CheckCache(v)
         [] name = "ReadMmioGen" -> ReadMmioGen(v)
         [] name = "GetMmioSpte" -> GetMmioSpte(v)
         [] name = "CheckSpte" -> CheckSpte(v)
         [] name = "FillFromSpte" -> FillFromSpte(v)
         [] name = "Lookup" -> Lookup(v)
         [] name = "InstallRam" -> InstallRam(v)
         [] name = "FillNoSlot" -> FillNoSlot(v)
         [] name = "MakeMmioSpte" -> MakeMmioSpte(v)
         [] name = "MarkMmioSpte" -> MarkMmioSpte(v)
         [] name = "Emulate" -> Emulate(v)
         [] name = "ReadGuest" -> ReadGuest(v)
         [] name = "EndAccess" -> EndAccess(v)
         [] name = "Publish" -> Publish(step[2], Change(step))
         [] name = "SyncSrcu" -> SyncSrcu
         [] name = "RunHook" -> RunHook
         [] name = "StoreGen" -> StoreGen
         [] name = "FlushSlot" -> FlushSlot
         [] OTHER -> FALSE

\* Trace t has Len(Traces[t]) \div 2 states; its k-th is reached by step Steps[Traces[t][2k - 1]]
\* and is state Traces[t][2k] of the batch.
TraceLength(t) == Len(Traces[t]) \div 2
StepAt(t, k) == Steps[Traces[t][2 * k - 1]]
StateAt(t, k) == Traces[t][2 * k]

TraceInit ==
    /\ ti \in 1 .. Len(Traces)
    /\ cursor = 1
    /\ Name(ActionNames, StepAt(ti, 1)[1]) = "Init"
    /\ IsState(StateAt(ti, 1))
    /\ Init
    /\ PrintT(<<"reached", ti, 1>>)

TraceNext ==
    /\ cursor < TraceLength(ti)
    /\ LET step == StepAt(ti, cursor + 1)
       IN /\ IsNextState(StateAt(ti, cursor + 1))
          /\ InRange(step)
          /\ Action(step)
    /\ cursor' = cursor + 1
    /\ ti' = ti
    /\ PrintT(<<"reached", ti, cursor + 1>>)

=============================================================================
