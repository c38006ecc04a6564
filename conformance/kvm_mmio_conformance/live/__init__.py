"""The Linux KVM of this machine (/dev/kvm) as an oracle for the spec, in the standard library only.

The harness: vm (fds, memslots, guest memory), guest (a scripted CPL3/CPL0 guest), run (KVM_RUN,
exits, timeout), stats (binary stats), tracefs (a private trace instance), generation (the memslot
generation wrap count), operations (memslot operations named as the reference names them).
The checks of the host model run by `kvm-mmio live`: gencheck, cachecheck, racecheck (+ windows),
orchestrated by checks and rendered by report. The conformance adapter: adapter (LiveAdapter,
the operations level), layout (config -> VM), livevm (that VM), accesspath (the path of an access
from its trace events), serve (the adapter out of process), opsrun and opsreport (the operations
vectors run by `kvm-mmio live`). See ../shared/KVM_LIVE.md for what this kernel was measured to do.
"""
