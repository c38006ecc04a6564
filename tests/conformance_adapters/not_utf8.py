"""An adapter that answers a decode request with bytes that are not UTF-8."""

import sys

from _common import serve


def latin1(_answer) -> None:
    sys.stdout.buffer.write(b'{"is_mmio": "\xe9t\xe9"}\n')
    sys.stdout.flush()


serve(latin1)
