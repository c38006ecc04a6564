"""An adapter that never answers a decode request."""

import sys
import time

from _common import serve


def hang(_answer) -> None:
    print("hanging.py: sleeping instead of answering", file=sys.stderr, flush=True)
    time.sleep(3600)


serve(hang)
