"""The peer of benchmarks/handoff_output.sh: one hand-off the way a Python remediation runner
usually does it, subprocess.run(shell=True, input=LINE, capture_output=True, timeout=30), keeping
the first KiB of output for its audit like triage. Prints {"duration_ms", "output_bytes"}.
   usage: handoff_peer.py CMD LINE_FILE KEY
"""
import json
import os
import subprocess
import sys
import time

command, line_file, key = sys.argv[1], sys.argv[2], sys.argv[3]
line = open(line_file, "rb").read()
env = dict(os.environ, TRIAGE_IDEMPOTENCY_KEY=key)
start = time.perf_counter()
done = subprocess.run(command, shell=True, input=line, capture_output=True, timeout=30, env=env)
elapsed = time.perf_counter() - start
kept = (done.stdout + done.stderr)[:1024]
print(json.dumps({"duration_ms": round(elapsed * 1000), "output_bytes": len(done.stdout) + len(done.stderr),
                  "kept": len(kept), "exit": done.returncode}))
