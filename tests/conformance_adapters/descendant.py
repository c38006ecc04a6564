"""An adapter that starts a child which keeps its stdout and stderr open and outlives it.

argv: PIDFILE [setsid]. The child (`sleep`) inherits both pipes and its pid is written to
PIDFILE; with "setsid" it also leaves the adapter's session and process group, so that killing
the group cannot reach it. The adapter itself answers like the reference and exits at the end of
its input, leaving the child holding the pipes.
"""

import json
import subprocess
import sys
from pathlib import Path

from _common import serve

child = subprocess.Popen(["sleep", "300"], start_new_session=len(sys.argv) > 2)
Path(sys.argv[1]).write_text(str(child.pid))
serve(lambda answer: print(json.dumps(answer), flush=True))
