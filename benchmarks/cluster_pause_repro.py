"""A replica paused in the middle of a raise transaction (issue 18, found by
benchmarks/cluster.sh): one `serve --replica r1` is fed rows; as soon as one of its database
sessions is seen `idle in transaction` (between the statements of a guarded raise, which holds
the writers' advisory lock), r1 is SIGSTOPped for PAUSE seconds (past the store's 15 s operation
bound), then continued. Afterwards the script reports whether that transaction was ended (rolled
back or committed) and whether the replica still processes its inbox. Before main's f1906b2 the
replica never processed again (stuck in 2 of 2 runs with a 20 s pause; its engine thread waited
in `Blocking.wait` for a query on a pool being shut down); since, it recovers.

  bash scripts/with-postgres.sh python3 benchmarks/cluster_pause_repro.py TRIAGE BUNDLE METRICS.csv [PAUSE]

Exit 0 when the replica recovered, 1 when the transaction stayed open or the inbox stopped
draining (the diagnosis is printed).
"""
import os
import signal
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cluster_bench import TOKEN, Server, Session  # noqa: E402
from cluster_feed import Feeder, read_requests  # noqa: E402


def main():
    triage, bundle, metrics = sys.argv[1:4]
    pause = float(sys.argv[4]) if len(sys.argv) > 4 else 20
    base = os.environ["TRIAGE_TEST_POSTGRES_URL"]
    psql = sorted(d for d in os.listdir("/usr/lib/postgresql"))[-1]
    psql = f"/usr/lib/postgresql/{psql}/bin/psql"
    work = subprocess.run(["mktemp", "-d", "/tmp/triage-pause.XXXXXX"], capture_output=True, text=True).stdout.strip()
    with open(f"{work}/tokens", "w") as f:
        f.write(f"{TOKEN} bench\n")
    os.chmod(f"{work}/tokens", 0o600)
    with open(f"{work}/approvers.txt", "w") as f:
        f.write("bench\n")
    admin = Session(psql, base)
    admin.rows("DROP DATABASE IF EXISTS pause_repro WITH (FORCE)")
    admin.rows("CREATE DATABASE pause_repro")
    db = base.replace("/postgres?", "/pause_repro?")
    server = Server(triage, ["--model", bundle, "--db", db, "--replica", "r1", "--port", "0", "--token-file",
                             f"{work}/tokens", "--approvers", f"{work}/approvers.txt", "--outbox", f"{work}/outbox.jsonl",
                             "--ttl", "1d", "--log-level", "info"], f"{work}/r1.log")
    watcher = Session(psql, db)
    feeder = Feeder(read_requests(metrics, 6, 200), [server.url], TOKEN, db, rate=2000, stall=60, psql=psql)
    threading.Thread(target=feeder.run, daemon=True).start()
    caught = None
    deadline = time.monotonic() + 120
    while caught is None and time.monotonic() < deadline:
        rows = watcher.rows("SELECT pid, xact_start, left(query, 120) FROM pg_stat_activity WHERE datname = current_database() "
                            "AND state = 'idle in transaction' AND pid <> pg_backend_pid()")
        if not rows:
            continue
        server.signal(signal.SIGSTOP)
        pid, started, query = rows[0]
        again = watcher.rows(f"SELECT state FROM pg_stat_activity WHERE pid = {pid} AND xact_start = '{started}'")
        if again and again[0][0] == "idle in transaction":
            caught = (pid, started, query)
        else:
            server.signal(signal.SIGCONT)
            time.sleep(0.05)
    if caught is None:
        print("did not catch r1 inside a transaction within 120 s")
        server.stop()
        return 2
    pid, started, query = caught
    print(f"r1 stopped inside a transaction: backend {pid}, begun {started}, last statement: {query}")
    time.sleep(pause)
    server.signal(signal.SIGCONT)
    print(f"r1 continued after {pause:.0f} s")
    time.sleep(10)
    still = watcher.rows(f"SELECT state, left(query, 120) FROM pg_stat_activity WHERE pid = {pid} AND xact_start = '{started}'")
    locks = watcher.rows("SELECT a.pid, a.state, (clock_timestamp() - a.xact_start)::TEXT FROM pg_locks l "
                         "JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory' AND l.granted")
    waiting = watcher.rows("SELECT pid, wait_event_type, wait_event, left(query, 80) FROM pg_stat_activity "
                           "WHERE datname = current_database() AND wait_event_type = 'Lock'")
    before = watcher.rows("SELECT COALESCE(sum(inbox_position), 0) FROM service_checkpoint")[0][0]
    time.sleep(10)
    after = watcher.rows("SELECT COALESCE(sum(inbox_position), 0) FROM service_checkpoint")[0][0]
    pending = watcher.rows("SELECT count(*) FROM metric_inbox")[0][0]
    print(f"10 s after SIGCONT: that transaction {'is STILL OPEN: ' + str(still) if still else 'has ended'}")
    print(f"advisory locks held: {locks or 'none'}; sessions waiting on a lock: {waiting or 'none'}")
    print(f"inbox: checkpoint positions summed {before} -> {after} over 10 s, {pending} entries waiting")
    stuck = bool(still) or (before == after and int(pending) > 0)
    print("RESULT", "STUCK" if stuck else "recovered", f"(log: {work}/r1.log)")
    if stuck:
        trace = subprocess.run(["gdb", "-p", str(server.pid), "-batch", "-ex", "thread apply all bt 25"],
                               capture_output=True, text=True).stdout
        with open(f"{work}/threads.txt", "w") as f:
            f.write(trace)
        print(f"r1's threads (gdb): {work}/threads.txt")
    status = server.stop()
    print(f"r1 exit status on SIGTERM: {status} (None: still running after 30 s, killed)")
    return 1 if stuck else 0


if __name__ == "__main__":
    sys.exit(main())
