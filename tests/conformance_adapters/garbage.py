"""An adapter that answers a decode request with a line that is not JSON."""

import sys

from _common import serve


def garble(_answer) -> None:
    print("garbage.py: about to print garbage", file=sys.stderr, flush=True)
    print("<<< this is not JSON >>>", flush=True)


serve(garble)
