#!/usr/bin/env bash
# Installs everything kvm-mmio-spec needs on a fresh machine, idempotently:
#   - Java (TLC runs on the JVM) from Debian when `java` is missing;
#   - a virtual environment .venv with this project installed in editable mode.
# Usage: bash tools/setup.sh        # runtime only (kvm-mmio check, explore, ...)
#        bash tools/setup.sh test   # plus the test extras (pytest, ruff, numpy)
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v java >/dev/null 2>&1; then
    echo "setup: java not found, installing default-jre-headless" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq default-jre-headless >/dev/null
fi

if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
extras=""
if [ "${1:-}" = "test" ]; then
    extras="[test]"
fi
.venv/bin/python -m pip install -q --disable-pip-version-check -e ".${extras}"
