"""A harness for the Linux KVM of this machine (/dev/kvm), in the standard library only.

vm (fds, memslots, guest memory), guest (a scripted CPL3/CPL0 guest), run (KVM_RUN, exits,
timeout), stats (binary stats), tracefs (a private trace instance), generation (the memslot
generation wrap count). See ../shared/KVM_LIVE.md for what this kernel was measured to do.
"""
