"""An adapter that takes 0.2 s over every answer (argv: PIDFILE, where its pid is written once
it has answered hello)."""

import json
import os
import sys
import time
from pathlib import Path

from kvm_mmio_conformance.protocol import dispatch
from kvm_mmio_conformance.reference_adapter import ReferenceAdapter

adapter = ReferenceAdapter()
for number, line in enumerate(sys.stdin):
    message = json.loads(line)
    answer = dispatch(adapter, message)
    if "id" in message:
        answer["id"] = message["id"]
    if number:
        time.sleep(0.2)
    print(json.dumps(answer), flush=True)
    if number == 0:
        Path(sys.argv[1]).write_text(str(os.getpid()))
