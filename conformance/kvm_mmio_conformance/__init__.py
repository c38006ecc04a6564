"""kvm_mmio_conformance: language-neutral vectors, the adapter protocol and the runner that judge an
implementation of KVM's MMIO caching against the kvm_mmio reference.

One job per module (conformance/README.md is the implementers' guide):

- vectors/ and schema/: the cases, as data, and the JSON Schemas of their files;
  generate_spte.py, generate_operations.py and generate_steps.py write them from the reference
  (vectorfile.py: the file layout); vectors.py loads any vectors file into cases; schemacheck.py
  validates against the schemas;
- where the model levels' cases come from: opgraph.py (the graph of whole operations),
  coverwalk.py (walks covering a graph), distinguish.py (the shortest sequence of whole
  operations telling two configurations apart), counterexamples.py (the explorer's
  counterexamples, replayed), selftests.py (set_memory_region_test's scenarios),
  random_sequences.py (seeded Hypothesis draws); casekit.py (a case's config and requires);
- model_config.py (the reset's constants <-> kvm_mmio Constants) and model_wire.py (operations,
  observations, actions and enabled sets on a kvm_mmio.vm.Vm);
- protocol.py: the messages (hello, spte, reset, operation, step, state) and the adapter class;
  capabilities.py: what an implementation declares and which cases that selects;
- inprocess.py and process.py: the two channels (a Python object; a command speaking JSON lines,
  guarded by timeouts, answers matched to requests by id); adapterprocess.py runs that command in
  a process group of its own and reads its pipes without ever blocking; stdio_server.py serves
  any Python adapter as such a command;
- runner.py runs cases, compare.py judges answers, report.py prints text, JSON and JUnit;
- pytest_plugin.py (entry point) and pytest_items.py: the cases as pytest items;
- reference_adapter.py and serve_reference.py: the reference as an implementation under test;
- mutants/: wrong implementations the suite must reject;
- live/: the adapters for the machine's own KVM (/dev/kvm);
- atomicfile.py: every file written for a user (vectors, reports, and the tools' traces,
  manifest and plots) appears whole or not at all, with ordinary permissions.
"""
