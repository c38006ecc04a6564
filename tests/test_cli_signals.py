"""A second stop signal while the first is handled must neither orphan TLC nor undo the stop: the
JVMs run in sessions of their own, and a second KeyboardInterrupt inside the cleanup left them
running to the end of the model (seen with `timeout` forwarding SIGTERM while a supervisor sent one
too)."""

import json
import os
import signal
import subprocess
import time

import pytest
from ownprocs import kvm_mmio_interruptible


def _alive(pid: int) -> bool:
    """The process exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.tlc
@pytest.mark.parametrize("first", [signal.SIGTERM, signal.SIGINT])
def test_a_second_signal_during_cleanup_still_kills_the_jvm(first):
    command = kvm_mmio_interruptible("--log-json", "-v", "check", "safe")  # SIGINT too
    process = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    jvm = None
    try:
        for line in process.stderr:
            event = json.loads(line)
            if event.get("event") == "tlc.start":
                jvm = event["pid"]
                break
        assert jvm is not None and _alive(jvm)
        time.sleep(0.5)
        process.send_signal(first)
        process.send_signal(signal.SIGTERM)  # arrives while the first one is being handled
        process.communicate(timeout=30)  # stopping must not wait for the model to finish
        assert process.returncode == 130
    finally:
        if process.poll() is None:
            process.kill()
    deadline = time.monotonic() + 10
    while _alive(jvm) and time.monotonic() < deadline:
        time.sleep(0.1)
    if _alive(jvm):
        os.killpg(jvm, signal.SIGKILL)
        pytest.fail(f"the JVM {jvm} outlived kvm-mmio check")
