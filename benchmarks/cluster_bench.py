"""The cluster benchmark of issue 18, driven by benchmarks/cluster.sh (which starts PostgreSQL,
builds Triage and makes the data): same answers under a kill and a pause, failover time, and
ingest throughput, side by side in one run.

1. Baseline: `triage watch METRICS --model BUNDLE --db watch.sqlite`, one process over the rows.
2. Same answers, once per seed: a fresh database, 3 `serve --replica` processes, the rows fed at
   a steady rate round robin to all three (cluster_feed.py: each service's rows in order). At a
   row count drawn from the seed one replica is SIGKILLed; at another, another one is SIGSTOPped
   for 20 s, then SIGCONTinued. Once every row is accepted and the inbox drained (metric_inbox
   empty, every service's checkpoint position at its inbox head), the recommendations (service,
   action, created) must equal the baseline's, as a multiset, with no (service, created) twice.
   A poller reads service_lease and service_checkpoint every 0.1 s: for each service the killed
   replica held at the kill, the failover time is the time from SIGKILL to (a) the survivor's
   lease claim (claimed_at, database clock) and (b) the first checkpoint saved under a newer
   epoch (saved_at; first seen by the poller, so at most 0.1 s late).
3. Throughput: the same rows fed as fast as answered to 1 `serve` on SQLite (synchronous ingest),
   1 replica on PostgreSQL, and 3 replicas; accept rate (first POST to last 202) and end to end
   (first POST to the inbox drained), rounds alternated.

Exit status 1 on any mismatch, lost or duplicated recommendation, feeder error or inbox that does
not drain. Prints a summary at the end (the figures for BENCHMARKS.md).
"""
import argparse
import json
import os
import random
import resource
import re
import signal
import statistics
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cluster_feed import Feeder, read_requests  # noqa: E402

TOKEN = "clusterbench-0123456789abcdef"


def log(message):
    print(f"[{time.strftime('%H:%M:%S', time.gmtime())}] {message}", file=sys.stderr, flush=True)


class Session:
    """One psql process kept open: a query per call, its rows split on '|'. Cheap enough to poll
    every 0.1 s (no connection per query)."""

    def __init__(self, psql, url):
        self.process = subprocess.Popen([psql, url, "-qAtX", "-F", "|", "-v", "ON_ERROR_STOP=0"],
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                        text=True, bufsize=1)
        self.lock = threading.Lock()

    def rows(self, sql):
        with self.lock:
            self.process.stdin.write(sql.rstrip().rstrip(";") + ";\n\\echo __end__\n")
            self.process.stdin.flush()
            out = []
            while True:
                line = self.process.stdout.readline()
                if line == "":
                    raise RuntimeError("psql ended")
                line = line.rstrip("\n")
                if line == "__end__":
                    return out
                out.append(line.split("|"))

    def close(self):
        try:
            self.process.stdin.close()
            self.process.wait(timeout=5)
        except Exception:
            self.process.kill()


class Server:
    """A `triage serve` process; its address from its 'listening' log line."""

    def __init__(self, triage, arguments, log_path):
        self.log_path = log_path
        self.log_file = open(log_path, "w")
        self.process = subprocess.Popen([triage, "serve", *arguments], stdout=subprocess.DEVNULL, stderr=self.log_file)
        self.pid = self.process.pid
        self.url = None
        deadline = time.monotonic() + 60
        while self.url is None:
            if self.process.poll() is not None:
                raise RuntimeError(f"serve exited with {self.process.returncode}: {open(log_path).read()[-2000:]}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"serve did not log its address within 60 s: {open(log_path).read()[-2000:]}")
            match = re.search(r"http://127\.0\.0\.1:[0-9]+", open(log_path).read())
            if match:
                self.url = match.group(0)
            else:
                time.sleep(0.05)

    def cpu_seconds(self):
        try:
            fields = open(f"/proc/{self.pid}/stat").read().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, IndexError):
            return float("nan")

    def signal(self, number):
        os.kill(self.pid, number)

    def stop(self):
        """SIGTERM (SIGCONT first, in case it is stopped); the exit status, or None if it had to be killed."""
        if self.process.poll() is None:
            try:
                os.kill(self.pid, signal.SIGCONT)
                self.process.terminate()
                return self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
                return None
            finally:
                self.log_file.close()
        self.log_file.close()
        return self.process.returncode


def postgres_cpu_seconds():
    """CPU seconds of every PostgreSQL server process alive now (backends of the replicas'
    connections included; a backend that ended meanwhile is not counted)."""
    total = 0.0
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as f:
                text = f.read()
        except OSError:
            continue
        name = text[text.index("(") + 1:text.rindex(")")]
        if name == "postgres" or name.startswith("postgres:"):
            fields = text.rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def own_cpu_seconds():
    """This process's CPU seconds, all threads (the feeder's share of the machine)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def machine_busy_seconds():
    """CPU seconds the whole machine spent busy (all cores) since boot, from /proc/stat."""
    fields = [int(x) for x in open("/proc/stat").readline().split()[1:]]
    idle = fields[3] + fields[4]
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


class Bench:
    def __init__(self, args):
        self.args = args
        self.work = args.work
        self.admin = Session(args.psql, args.base_url)
        socket = re.search(r"[?&]host=([^&]*)", args.base_url).group(1)
        user = re.match(r"postgres(?:ql)?://([^:@/]*)", args.base_url).group(1)
        self.url_for = lambda name: f"postgres://{user}@/{name}?host={socket}"
        with open(f"{self.work}/tokens", "w") as f:
            f.write(f"{TOKEN} bench\n")
        os.chmod(f"{self.work}/tokens", 0o600)
        with open(f"{self.work}/approvers.txt", "w") as f:
            f.write("bench\n")
        self.failures = []

    # -- helpers -------------------------------------------------------------------------

    @staticmethod
    def remove_sqlite(db):
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(db + suffix):
                os.remove(db + suffix)

    def fresh_database(self, name):
        self.admin.rows(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        self.admin.rows(f"CREATE DATABASE {name}")
        return self.url_for(name)

    def serve(self, db, name, replica=None):
        arguments = ["--model", self.args.bundle, "--db", db, "--port", "0", "--token-file", f"{self.work}/tokens",
                     "--approvers", f"{self.work}/approvers.txt", "--outbox", f"{self.work}/outbox-{name}.jsonl",
                     "--ttl", "1d", "--log-level", self.args.log_level]
        if replica and not self.args.without_replica_flag:
            arguments += ["--replica", replica]
        return Server(self.args.triage, arguments, f"{self.work}/{name}.log")

    def recommendations(self, db):
        out = subprocess.run([self.args.triage, "approvals", "list", "--db", db, "--status", "all", "--json"],
                             capture_output=True, text=True, check=True).stdout
        return sorted((r["service"], r["action"], r["created"]) for r in json.loads(out))

    def drained(self, session):
        row = session.rows("""
            SELECT (SELECT count(*) FROM metric_inbox),
                   (SELECT count(*) FROM inbox_head h LEFT JOIN service_checkpoint c ON c.service = h.service
                     WHERE COALESCE(c.inbox_position, 0) <> h.last_seq),
                   (SELECT count(*) FROM inbox_head)""")[0]
        return int(row[0]) == 0 and int(row[1]) == 0, row

    def wait_drained(self, session, timeout):
        deadline = time.monotonic() + timeout
        while True:
            done, row = self.drained(session)
            if done:
                return time.monotonic()
            if time.monotonic() > deadline:
                raise RuntimeError(f"inbox not drained after {timeout} s: {row[0]} entries left, "
                                   f"{row[1]} of {row[2]} services behind their head")
            time.sleep(0.05)

    def compare(self, label, got, expected):
        """Equal multisets, no (service, created) twice; records a failure otherwise."""
        keys = [(s, c) for s, _, c in got]
        twice = sorted({k for k in keys if keys.count(k) > 1})
        missing = sorted(set(expected) - set(got))
        extra = sorted(set(got) - set(expected))
        ok = got == expected and not twice
        if not ok:
            self.failures.append(f"{label}: {len(got)} recommendations vs {len(expected)} expected; "
                                 f"missing {missing[:5]}, extra {extra[:5]}, twice {twice[:5]}")
        return ok, {"count": len(got), "missing": len(missing), "extra": len(extra), "twice": len(twice)}

    # -- 1. baseline -----------------------------------------------------------------------

    def baseline(self, metrics, name):
        db = f"{self.work}/{name}.sqlite"
        self.remove_sqlite(db)  # watch resumes from a db's stored read position: start afresh
        began = time.monotonic()
        events = f"{self.work}/{name}-events.jsonl"
        subprocess.run([self.args.triage, "watch", metrics, "--model", self.args.bundle, "--db", db,
                        "--ttl", "1d", "--scores", "/dev/null", "--events", events, "--quiet"], check=True)
        seconds = time.monotonic() - began
        expected = self.recommendations(db)
        journal = {"state": [], "recommendation": []}
        with open(events) as f:
            for line in f:
                event = json.loads(line)
                if event["type"] in journal:
                    journal[event["type"]].append(self.journal_key(event["type"], event))
        os.remove(events)
        log(f"baseline: watch {os.path.basename(os.path.dirname(metrics))}/{os.path.basename(metrics)} --db {name}.sqlite "
            f"raised {len(expected)} recommendations ({len(journal['state'])} health state changes) in {seconds:.2f} s")
        return expected, {kind: sorted(keys) for kind, keys in journal.items()}

    @staticmethod
    def journal_key(kind, event):
        """What must match between one process's events and the cluster's journal: a state change
        whole; a recommendation by (service, action, created) (ids and wall-clock times differ)."""
        if kind == "state":
            return (event["service"], event["from"], event["state"], event["timestamp"])
        return (event["service"], event["action"], event["created"])

    def journal(self, session):
        """The cluster's journal (`event` table) as journal keys by kind; bodies hex-encoded so no
        separator can split them."""
        journal = {"state": [], "recommendation": []}
        for kind, body in session.rows("SELECT type, encode(convert_to(body, 'UTF8'), 'hex') FROM event"):
            if kind in journal:
                journal[kind].append(self.journal_key(kind, json.loads(bytes.fromhex(body).decode())))
        return {kind: sorted(keys) for kind, keys in journal.items()}

    # -- 2. same answers under a kill and a pause --------------------------------------------

    def lease_poller(self, session, snapshots, stop):
        while not stop.is_set():
            at = time.time()
            rows = session.rows("""
                SELECT l.service, COALESCE(l.owner, ''), l.epoch,
                       COALESCE(extract(epoch FROM l.claimed_at)::TEXT, ''),
                       COALESCE(c.epoch::TEXT, ''), COALESCE(extract(epoch FROM c.saved_at)::TEXT, '')
                FROM service_lease l LEFT JOIN service_checkpoint c ON c.service = l.service""")
            snapshots.append((at, rows))
            stop.wait(0.1)

    def same_answers(self, seed):
        rng = random.Random(seed)
        names = ["r1", "r2", "r3"]
        victim, paused = rng.sample(range(3), 2)
        total = self.total_rows
        kill_rows = int(total * rng.uniform(0.2, 0.6))
        stop_rows = int(total * rng.uniform(0.1, 0.7))
        db = self.fresh_database(f"cluster_seed_{seed}")
        servers = [self.serve(db, f"seed{seed}-{n}", replica=n) for n in names]
        session = Session(self.args.psql, db)
        poll_session = Session(self.args.psql, db)
        log(f"seed {seed}: replicas up ({', '.join(s.url for s in servers)}); SIGKILL {names[victim]} at row "
            f"{kill_rows}, SIGSTOP {names[paused]} for {self.args.pause:.0f} s at row {stop_rows} of {total}")
        feeder = Feeder(self.requests, [s.url for s in servers], TOKEN, db, rate=self.args.rate, psql=self.args.psql)
        kill_event, stop_event = feeder.when_rows(kill_rows), feeder.when_rows(stop_rows)
        result = {}
        feed_thread = threading.Thread(target=lambda: result.update(feeder.run()))
        snapshots, stop_polling = [], threading.Event()
        poller = threading.Thread(target=self.lease_poller, args=(poll_session, snapshots, stop_polling))
        poller.start()
        feed_thread.start()
        events = sorted([(kill_rows, "kill"), (stop_rows, "stop")])
        kill_time, held_at_kill, held_at_stop, stop_time = None, {}, {}, None
        continue_timer = None
        for _, what in events:
            (kill_event if what == "kill" else stop_event).wait()
            if what == "kill":
                held_at_kill = {r[0]: int(r[1]) for r in session.rows(
                    f"SELECT service, epoch FROM service_lease WHERE owner = '{names[victim]}' AND expires_at > clock_timestamp()")}
                kill_time = time.time()
                servers[victim].signal(signal.SIGKILL)
                log(f"seed {seed}: SIGKILL {names[victim]} (held {len(held_at_kill)} services) at row {feeder.accepted}")
            else:
                held_at_stop = {r[0]: int(r[1]) for r in session.rows(
                    f"SELECT service, epoch FROM service_lease WHERE owner = '{names[paused]}' AND expires_at > clock_timestamp()")}
                stop_time = time.time()
                servers[paused].signal(signal.SIGSTOP)
                log(f"seed {seed}: SIGSTOP {names[paused]} (held {len(held_at_stop)} services) at row {feeder.accepted}")
                continue_timer = threading.Timer(self.args.pause, lambda: (servers[paused].signal(signal.SIGCONT),
                                                                          log(f"seed {seed}: SIGCONT {names[paused]}")))
                continue_timer.start()
        feed_thread.join()
        fed_at = time.monotonic()
        continue_timer.join()
        try:
            drained_at = self.wait_drained(session, self.args.drain_timeout)
            drain_note = f"drained {drained_at - fed_at:.1f} s after the last row was accepted"
        except RuntimeError as error:
            self.failures.append(f"seed {seed}: {error}")
            drain_note = f"{error}; diagnosis in {self.diagnose(f'seed{seed}', servers, session)}"
        time.sleep(5)  # two lease rounds: a replica continued after its pause has re-joined
        stop_polling.set()
        poller.join()
        if result.get("errors"):
            self.failures.append(f"seed {seed}: feeder errors: {result['errors'][:3]}")
        if result.get("rows") != total:
            self.failures.append(f"seed {seed}: {result.get('rows')} rows accepted of {total}")
        got = self.recommendations(db)
        ok, counts = self.compare(f"seed {seed}", got, self.expected)
        journal = self.journal(session)
        journal_ok = journal == self.expected_journal
        if not journal_ok:
            for kind in journal:
                have, want = journal[kind], self.expected_journal[kind]
                if have != want:
                    self.failures.append(
                        f"seed {seed}: journal's {kind} events differ from watch's: {len(have)} vs {len(want)}; "
                        f"only in the cluster {sorted(set(have) - set(want))[:3]}, only in watch {sorted(set(want) - set(have))[:3]}, "
                        f"twice {len(have) - len(set(have))}")
        owners = session.rows("SELECT COALESCE(owner, '(none)'), count(*), max(epoch) FROM service_lease "
                              "WHERE expires_at > clock_timestamp() GROUP BY 1 ORDER BY 1")
        exits = {}
        for index, server in enumerate(servers):
            if index != victim:
                exits[names[index]] = server.stop()
        fenced_lines = {n: self.log_counts(s.log_path) for n, s in zip(names, servers)}
        session.close()
        poll_session.close()
        claim, checkpoint = self.failover_times(snapshots, held_at_kill, kill_time, names[victim])
        paused_claim, _ = self.failover_times(snapshots, held_at_stop, stop_time, names[paused])
        for name, status in exits.items():
            if status != 0:
                self.failures.append(f"seed {seed}: {name} exited with {status} on SIGTERM")
        log(f"seed {seed}: {drain_note}; feeder {result.get('rows')} rows, {result.get('resent')} resent, "
            f"{result.get('broken_committed')} broken but committed, {result.get('refused_connections')} refused connections")
        log(f"seed {seed}: recommendations {counts['count']} (expected {len(self.expected)}): "
            f"{'SAME' if ok else 'DIFFERENT'}; missing {counts['missing']}, extra {counts['extra']}, twice {counts['twice']}; "
            f"journal ({len(journal['state'])} state changes, {len(journal['recommendation'])} raises) "
            f"{'same as watch' if journal_ok else 'DIFFERENT'}")
        log(f"seed {seed}: failover of {names[victim]}'s {len(held_at_kill)} services: claim "
            f"{self.describe(claim)}, first checkpoint {self.describe(checkpoint)}; paused {names[paused]}'s "
            f"{len(held_at_stop)} services claimed {self.describe(paused_claim)} after SIGSTOP")
        log(f"seed {seed}: owners at the end: {', '.join(f'{o}={c} (max epoch {e})' for o, c, e in owners)}; "
            f"from the logs (took/dropped fenced/dropped otherwise/warnings): {fenced_lines}; SIGTERM exits {exits}")
        self.seed_results.append({"seed": seed, "ok": ok, "journal_ok": journal_ok, "counts": counts, "claim": claim, "checkpoint": checkpoint,
                                  "paused_claim": paused_claim, "feed": result, "kill_rows": kill_rows,
                                  "stop_rows": stop_rows, "owners": owners, "fenced_lines": fenced_lines})

    def diagnose(self, label, servers, session):
        """When the inbox does not drain: what the database's sessions wait for, each service's
        lease, checkpoint and head, and every live replica's threads (gdb), into one file."""
        path = f"{self.work}/diagnosis-{label}.txt"
        with open(path, "w") as out:
            for title, sql in [
                ("sessions", "SELECT pid, state, COALESCE(wait_event_type, ''), COALESCE(wait_event, ''), "
                             "COALESCE((clock_timestamp() - xact_start)::TEXT, ''), left(regexp_replace(query, '\\s+', ' ', 'g'), 300) "
                             "FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"),
                ("locks not granted", "SELECT pid, locktype, mode, COALESCE(relation::regclass::TEXT, ''), "
                                      "COALESCE(objid::TEXT, '') FROM pg_locks WHERE NOT granted"),
                ("services", "SELECT l.service, COALESCE(l.owner, ''), l.epoch, (l.expires_at > clock_timestamp()), "
                             "COALESCE(c.epoch::TEXT, ''), COALESCE(c.inbox_position::TEXT, ''), COALESCE(h.last_seq::TEXT, ''), "
                             "COALESCE(c.saved_at::TEXT, '') FROM service_lease l LEFT JOIN service_checkpoint c USING (service) "
                             "LEFT JOIN inbox_head h USING (service) ORDER BY 1"),
                ("replicas", "SELECT name, incarnation, heartbeat_at, expires_at FROM replica ORDER BY 1")]:
                out.write(f"== {title}\n")
                for row in session.rows(sql):
                    out.write(" | ".join(row) + "\n")
            for server in servers:
                if server.process.poll() is not None:
                    continue
                out.write(f"== threads of {server.log_path} (pid {server.pid})\n")
                try:
                    out.write(subprocess.run(["gdb", "-p", str(server.pid), "-batch", "-ex", "thread apply all bt 30"],
                                             capture_output=True, text=True, timeout=60).stdout)
                except (OSError, subprocess.TimeoutExpired) as error:
                    out.write(f"gdb: {error}\n")
        return path

    @staticmethod
    def log_counts(path):
        """Lease gains, drops because a write was fenced, other drops, warnings and errors, from a
        replica's log (info level)."""
        took = fenced = dropped = warnings = 0
        for line in open(path, errors="replace"):
            if "' took " in line:
                took += 1
            elif "' dropped " in line:
                if "fenced" in line:
                    fenced += 1
                else:
                    dropped += 1
            elif " warning " in line or " error " in line or "critical" in line:
                warnings += 1
        return f"{took}/{fenced}/{dropped}/{warnings}"

    @staticmethod
    def failover_times(snapshots, held, at, victim):
        """Per service held by `victim` at `at`: seconds to the first claim under a newer epoch
        (claimed_at) and to the first checkpoint saved under a newer epoch (saved_at)."""
        claim, checkpoint = {}, {}
        if at is None:
            return [], []
        for _, rows in snapshots:
            for service, owner, epoch, claimed_at, checkpoint_epoch, saved_at in rows:
                if service not in held:
                    continue
                if service not in claim and int(epoch) > held[service] and owner and owner != victim and claimed_at:
                    claim[service] = float(claimed_at) - at
                if service not in checkpoint and checkpoint_epoch and int(checkpoint_epoch) > held[service] and saved_at:
                    checkpoint[service] = float(saved_at) - at
        missing = set(held) - set(claim)
        return sorted(claim.values()) + [float("inf")] * len(missing), sorted(checkpoint.values())

    @staticmethod
    def describe(times):
        if not times:
            return "n/a"
        return f"median {statistics.median(times):.1f} s, max {max(times):.1f} s (n={len(times)})"

    # -- 3. throughput -----------------------------------------------------------------------

    def throughput(self, kind, round_number):
        name = f"tp{round_number}-{kind}"
        if kind == "sqlite":
            db = f"{self.work}/{name}.sqlite"
            self.remove_sqlite(db)
            servers = [self.serve(db, name)]
        else:
            count = int(kind.split("-")[1])
            db = self.fresh_database(f"tp_{round_number}_{count}")
            servers = [self.serve(db, f"{name}-r{i + 1}", replica=f"r{i + 1}") for i in range(count)]
            time.sleep(2.5)  # one lease round: the replicas have joined before the first row
        session = Session(self.args.psql, db) if kind != "sqlite" else None
        busy_before, postgres_before, feeder_before = machine_busy_seconds(), postgres_cpu_seconds(), own_cpu_seconds()
        feeder = Feeder(self.requests_fast, [s.url for s in servers], TOKEN, db if session else None, psql=self.args.psql)
        result = feeder.run()
        began = feeder.first_sent
        accept_seconds = result["seconds"]
        end_to_end = accept_seconds
        if session:
            try:
                end_to_end = self.wait_drained(session, self.args.drain_timeout) - began
            except RuntimeError as error:
                self.failures.append(f"throughput {name}: {error}")
                end_to_end = float("nan")
        busy = machine_busy_seconds() - busy_before
        postgres_cpu = postgres_cpu_seconds() - postgres_before
        feeder_cpu = own_cpu_seconds() - feeder_before
        cpu = sum(s.cpu_seconds() for s in servers)
        got = self.recommendations(db)
        ok, counts = self.compare(f"throughput {name}", got, self.expected_fast)
        if result["errors"] or result["rows"] != self.total_rows_fast:
            self.failures.append(f"throughput {name}: {result['rows']} rows accepted, errors {result['errors'][:3]}")
        for server in servers:
            server.stop()
        if session:
            session.close()
        rows = result["rows"]
        figures = {"kind": kind, "round": round_number, "rows": rows, "accept_rows_per_s": rows / accept_seconds,
                   "end_to_end_rows_per_s": rows / end_to_end if end_to_end == end_to_end else float("nan"),
                   "accept_s": accept_seconds, "end_to_end_s": end_to_end, "serve_cpu_s": cpu, "machine_busy_s": busy,
                   "postgres_cpu_s": postgres_cpu, "feeder_cpu_s": feeder_cpu,
                   "same": ok}
        log(f"throughput round {round_number} {kind:>6}: accept {figures['accept_rows_per_s']:,.0f} rows/s "
            f"({accept_seconds:.2f} s), end to end {figures['end_to_end_rows_per_s']:,.0f} rows/s ({end_to_end:.2f} s), "
            f"CPU: serve {cpu:.2f} s, PostgreSQL {postgres_cpu:.2f} s, feeder {feeder_cpu:.2f} s, machine busy {busy:.2f} s; "
            f"recommendations {'same' if ok else 'DIFFERENT'}")
        self.throughput_results.append(figures)

    # -- the run ---------------------------------------------------------------------------------

    def run(self):
        args = self.args
        self.requests = read_requests(args.metrics, args.groups, args.batch)
        self.requests_fast = read_requests(args.throughput_metrics or args.metrics, args.groups, args.fast_batch)
        self.total_rows = sum(r.rows for g in self.requests for r in g)
        self.total_rows_fast = sum(r.rows for g in self.requests_fast for r in g)
        self.seed_results, self.throughput_results = [], []
        self.expected, self.expected_journal = self.baseline(args.metrics, "watch")
        self.expected_fast = (self.baseline(args.throughput_metrics, "watch-throughput")[0] if args.throughput_metrics
                              else self.expected)
        if not args.skip_failover:
            for seed in args.seeds:
                self.same_answers(seed)
        for round_number in range(1, args.rounds + 1):
            for kind in args.kinds:
                self.throughput(kind, round_number)
        self.summary()
        return 1 if self.failures else 0

    def summary(self):
        print("\n== summary")
        if self.seed_results:
            claims = [t for r in self.seed_results for t in r["claim"]]
            checkpoints = [t for r in self.seed_results for t in r["checkpoint"]]
            paused = [t for r in self.seed_results for t in r["paused_claim"]]
            same = sum(1 for r in self.seed_results if r["ok"])
            same_journal = sum(1 for r in self.seed_results if r["journal_ok"])
            print(f"same answers: {same} of {len(self.seed_results)} seeds equal the single watch "
                  f"({len(self.expected)} recommendations each); journal (health state changes and raises, each once) "
                  f"equal in {same_journal} of {len(self.seed_results)}")
            for r in self.seed_results:
                c = r["counts"]
                print(f"  seed {r['seed']}: kill at row {r['kill_rows']}, stop at row {r['stop_rows']}: {c['count']} "
                      f"recommendations, missing {c['missing']}, extra {c['extra']}, twice {c['twice']}; "
                      f"claim {self.describe(r['claim'])}; checkpoint {self.describe(r['checkpoint'])}; "
                      f"resent {r['feed'].get('resent')}, broken-but-committed {r['feed'].get('broken_committed')}")
            print(f"failover (all seeds): lease claimed by a survivor {self.describe(claims)}; "
                  f"first checkpoint under the new epoch {self.describe(checkpoints)}; "
                  f"target <= 15 s: {'met' if claims and max(claims) <= 15 and (not checkpoints or max(checkpoints) <= 15) else 'NOT MET'}")
            print(f"paused replica's services claimed by others after SIGSTOP: {self.describe(paused)}")
        if self.throughput_results:
            print("throughput (rows/s; medians over rounds):")
            for kind in self.args.kinds:
                rows = [r for r in self.throughput_results if r["kind"] == kind]
                if not rows:
                    continue
                med = lambda key: statistics.median(r[key] for r in rows)
                print(f"  {kind:>6}: accept {med('accept_rows_per_s'):,.0f}, end to end {med('end_to_end_rows_per_s'):,.0f}, "
                      f"CPU s: serve {med('serve_cpu_s'):.2f}, PostgreSQL {med('postgres_cpu_s'):.2f}, "
                      f"feeder {med('feeder_cpu_s'):.2f}, machine busy {med('machine_busy_s'):.2f} "
                      f"(per round: {', '.join(format(r['end_to_end_rows_per_s'], ',.0f') for r in rows)})")
        if self.failures:
            print("FAILURES:")
            for failure in self.failures:
                print("  " + failure)
        else:
            print("no mismatch")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--triage", required=True)
    parser.add_argument("--bundle", required=True)
    parser.add_argument("--metrics", required=True)
    parser.add_argument("--base-url", required=True, help="a superuser URL of the PostgreSQL server (socket)")
    parser.add_argument("--work", required=True)
    parser.add_argument("--throughput-metrics", help="rows for the throughput runs (default: --metrics)")
    parser.add_argument("--psql", default="psql")
    parser.add_argument("--seeds", default="1-5", help="A-B or a comma list")
    parser.add_argument("--rate", type=float, default=2000, help="rows/s fed in the same-answers runs")
    parser.add_argument("--pause", type=float, default=20)
    parser.add_argument("--groups", type=int, default=6)
    parser.add_argument("--batch", type=int, default=200, help="rows per request in the same-answers runs")
    parser.add_argument("--fast-batch", type=int, default=1000, help="rows per request in the throughput runs")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--kinds", default="sqlite,pg-1,pg-3")
    parser.add_argument("--drain-timeout", type=float, default=60, help="seconds after the last row is accepted")
    parser.add_argument("--skip-failover", action="store_true")
    parser.add_argument("--log-level", default="info", help="of the serve processes (info: their lease gains and losses)")
    parser.add_argument("--without-replica-flag", action="store_true",
                        help="run 'serve --db postgres://…' without --replica (to try the harness on a build without it)")
    args = parser.parse_args()
    if "-" in args.seeds:
        a, b = args.seeds.split("-")
        args.seeds = list(range(int(a), int(b) + 1))
    else:
        args.seeds = [int(s) for s in args.seeds.split(",") if s]
    args.kinds = [k for k in args.kinds.split(",") if k]
    sys.exit(Bench(args).run())


if __name__ == "__main__":
    main()
