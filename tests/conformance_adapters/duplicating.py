"""An adapter that answers every decode request twice (protocol 1 or 2, from argv)."""

import json
import sys

from _common import serve


def twice(answer) -> None:
    print(json.dumps(answer), flush=True)
    print(json.dumps(answer), flush=True)


serve(twice, protocol=int(sys.argv[1]))
