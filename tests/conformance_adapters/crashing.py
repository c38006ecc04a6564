"""An adapter that dies on the first decode request, after a last word on stderr."""

import os
import sys

from _common import serve


def crash(_answer) -> None:
    print("crashing.py: giving up on decode (on purpose)", file=sys.stderr, flush=True)
    os._exit(3)


serve(crash)
