"""kvm_mmio: the executable reference model of KVM x86 memslot generations and MMIO caching.

It mirrors spec/KvmMmio.tla action for action and encodes MMIO sptes bit for bit as each kernel era
does. It depends on attrs only (hypothesis for kvm_mmio.strategies).
"""
