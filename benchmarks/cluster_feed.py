"""Feeds a metrics CSV to one or several `triage serve` processes over HTTP (issue 18), the way a
fleet of collectors behind a load balancer would: each service's rows in time order, one request
after another (a replica refuses with 409 rows older than rows it already accepted for that
service), different services at once.

How: the services are split into GROUPS (svc-NN goes to group NN mod GROUPS); one thread per group
posts its rows in file order as CSV bodies of BATCH rows, so every service's rows of one request
span several timestamps and a service's requests never overlap. Each request goes to the next
replica in turn (round robin over all groups), skipping a replica that refused a connection
(down) or that has had a request outstanding for over STALL seconds (stopped or hung: a load
balancer's outlier detection). A request waits for its answer however long the replica takes
(a stopped replica answers once it is continued), so nothing is sent twice by a timeout.

A request whose connection broke after it was sent (its replica was killed), or that got a 5xx
answer, may or may not have been committed to the inbox. The feeder then asks PostgreSQL
(`inbox_head.last_at`, the newest row time each service accepted, through psql) whether that
request's rows are in; if not, it sends them again to another replica. Without a database URL (a
single process on SQLite, never killed) such a request is an error. A 409 answer to a request sent
for the first time is an error too (the feeder broke the order).

Use as a module (`Feeder`, with thresholds the caller waits on to kill or stop a replica at a
given number of rows) or from the command line:

  cluster_feed.py METRICS.csv --replica http://127.0.0.1:PORT ... --token TOKEN
                  [--db postgres://…] [--groups 6] [--batch 200] [--rate ROWS_PER_S] [--part K/N]

Prints one line: RESULT rows=… seconds=… rows_per_s=… resent=… broken=… per_replica=…
"""
import argparse
import csv
import http.client
import io
import subprocess
import sys
import threading
import time
import urllib.parse
from datetime import datetime, timezone

COLUMNS = ["timestamp", "service", "cpu", "memory", "latency_p99_ms", "error_rate", "request_rate", "replicas",
           "heartbeat_age_s"]


def epoch_seconds(text):
    """A timestamp as `triage simulate` writes it (ISO 8601 UTC), or epoch seconds, to epoch seconds."""
    try:
        return int(float(text))
    except ValueError:
        stamp = datetime.fromisoformat(text.replace("Z", "+00:00").replace(" ", "T"))
        if stamp.tzinfo is None:
            stamp = stamp.replace(tzinfo=timezone.utc)
        return int(stamp.timestamp())


class Request:
    """One body: its bytes, its row count, and the last row time (epoch s) of each service in it."""

    def __init__(self, rows):
        text = io.StringIO()
        writer = csv.writer(text, lineterminator="\n")
        writer.writerow(COLUMNS)
        writer.writerows(rows)
        self.body = text.getvalue().encode()
        self.rows = len(rows)
        self.last_at = {}
        for row in rows:
            self.last_at[row[1]] = epoch_seconds(row[0])


def read_requests(path, groups, batch, part=(1, 1)):
    """The rows of `path` as `groups` lists of requests of `batch` rows, each list in file order
    (time order, as `triage simulate` writes). `part` (k, n) keeps the k-th of n equal slices of
    each service's rows, by position: (1, 2) and (2, 2) are the first and second halves."""
    with open(path, newline="") as f:
        rows = [[row[c] for c in COLUMNS] for row in csv.DictReader(f)]
    positions = {}
    for index, row in enumerate(rows):
        positions.setdefault(row[1], []).append(index)
    k, n = part
    keep = set()
    for indices in positions.values():
        keep.update(indices[len(indices) * (k - 1) // n:len(indices) * k // n])
    grouped = [[] for _ in range(groups)]
    for index, row in enumerate(rows):
        if index in keep:
            grouped[int(row[1].rsplit("-", 1)[1]) % groups].append(row)
    return [[Request(g[i:i + batch]) for i in range(0, len(g), batch)] for g in grouped]


class Replica:
    def __init__(self, url):
        parsed = urllib.parse.urlparse(url)
        self.url, self.host, self.port = url, parsed.hostname, parsed.port
        self.down_until = 0.0       # monotonic time before which it is skipped (refused a connection)
        self.outstanding = {}       # group → monotonic time its request was sent
        self.accepted_rows = 0


class FeedError(Exception):
    pass


class Feeder:
    def __init__(self, requests, replica_urls, token, database_url=None, rate=None, stall=1.0, psql="psql"):
        self.requests = requests
        self.replicas = [Replica(u) for u in replica_urls]
        self.token = token
        self.database_url = database_url
        self.rate = rate
        self.stall = stall
        self.psql = psql
        self.lock = threading.Lock()
        self.turn = 0
        self.accepted = 0
        self.resent = 0             # requests sent again after a broken connection found them not committed
        self.broken_committed = 0   # broken connections whose request the inbox had committed
        self.refused_connections = 0
        self.errors = []
        self.thresholds = []        # (rows, threading.Event)
        self.first_sent = None
        self.last_answer = None
        self.total_rows = sum(r.rows for g in requests for r in g)

    def when_rows(self, rows):
        """An event set once `rows` rows have been accepted."""
        event = threading.Event()
        with self.lock:
            self.thresholds.append((rows, event))
            if self.accepted >= rows:
                event.set()
        return event

    def _choose(self, group, tried):
        """The next usable replica in turn; waits while none is."""
        while True:
            with self.lock:
                now = time.monotonic()
                count = len(self.replicas)
                for step in range(count):
                    replica = self.replicas[(self.turn + step) % count]
                    stalled = any(now - t > self.stall for g, t in replica.outstanding.items() if g != group)
                    if replica.down_until <= now and not stalled and replica not in tried:
                        self.turn = (self.turn + step + 1) % count
                        return replica
            if tried:
                tried.clear()    # every replica tried once: start over after a pause
            time.sleep(0.05)

    def _committed(self, request):
        """Whether the inbox holds `request`'s rows (it is committed all or nothing): each
        service's newest accepted row time is at or past the request's last row of it."""
        if not self.database_url:
            raise FeedError("a request's connection broke and there is no database to ask whether it was committed")
        time.sleep(0.5)  # a statement the killed replica sent just before dying finishes first
        services = ",".join("'" + s.replace("'", "''") + "'" for s in request.last_at)
        out = subprocess.run([self.psql, self.database_url, "-qAtX", "-F", " ", "-c",
                              f"SELECT service, last_at FROM inbox_head WHERE service IN ({services})"],
                             capture_output=True, text=True, check=True).stdout
        heads = {}
        for line in out.split("\n"):
            if line:
                service, at = line.split(" ")
                heads[service] = int(at)
        answers = set()
        for service, last in request.last_at.items():
            at = heads.get(service)
            if at is None:
                answers.add(False)
                continue
            # The inbox's time unit: seconds, or milliseconds when the value says so.
            answers.add(at >= (last * 1000 if abs(at) > 10**11 else last))
        if len(answers) != 1:
            raise FeedError(f"a request was committed for some of its services only: {sorted(request.last_at)}")
        return answers.pop()

    def _post(self, group, connections, replica, request):
        """(status, body) or raises OSError / http.client exceptions."""
        conn = connections.get(replica.url)
        if conn is None:
            conn = http.client.HTTPConnection(replica.host, replica.port, timeout=120)
            connections[replica.url] = conn
        headers = {"Content-Type": "text/csv", "Authorization": f"Bearer {self.token}"}
        try:
            conn.request("POST", "/v1/metrics", body=request.body, headers=headers)
            response = conn.getresponse()
            return response.status, response.read()
        except BaseException:
            conn.close()
            connections.pop(replica.url, None)
            raise

    def _run_group(self, group, start):
        connections = {}
        share = self.rate / len(self.requests) if self.rate else None
        sent_rows = 0
        for request in self.requests[group]:
            if share:
                due = start + sent_rows / share
                delay = due - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            if not self._deliver(group, connections, request):
                return
            sent_rows += request.rows
            with self.lock:
                self.accepted += request.rows
                self.last_answer = time.monotonic()
                for rows, event in self.thresholds:
                    if self.accepted >= rows:
                        event.set()
        for conn in connections.values():
            conn.close()

    def _deliver(self, group, connections, request):
        """Sends `request` until the inbox holds it exactly once; False after an error.

        - 202: accepted.
        - A refused connection: nothing was sent; another replica.
        - A broken connection or a 5xx (a replica can answer 503 for an append that committed
          while it was stopped: its own wait had run out): unknown, so the inbox is asked; sent
          again to another replica only if it does not hold the rows.
        - 409 to a request sent before: an earlier attempt was committed after all (the feeder is
          the only sender of these services' rows). To a first attempt: an error.
        """
        tried = []
        sent_before = False
        while True:
            replica = self._choose(group, tried)
            with self.lock:
                replica.outstanding[group] = time.monotonic()
                if self.first_sent is None:
                    self.first_sent = time.monotonic()
            try:
                status, answer = self._post(group, connections, replica, request)
            except ConnectionRefusedError:
                status, answer = None, b"connection refused"
            except (OSError, http.client.HTTPException) as error:
                status, answer = 0, str(error).encode()
            with self.lock:
                replica.outstanding.pop(group, None)
            if status == 202:
                with self.lock:
                    replica.accepted_rows += request.rows
                return True
            if status is None:
                with self.lock:
                    replica.down_until = time.monotonic() + 2.0
                    self.refused_connections += 1
                tried.append(replica)
                continue
            if status == 0 or status >= 500 or (status == 409 and sent_before):
                if status == 0:
                    with self.lock:
                        replica.down_until = time.monotonic() + 2.0
                try:
                    committed = self._committed(request)
                except (FeedError, subprocess.CalledProcessError) as error:
                    with self.lock:
                        self.errors.append(f"{replica.url}: {status} {answer[:200]!r}, and then: {error}")
                    return False
                if committed:
                    with self.lock:
                        self.broken_committed += 1
                    return True
                if status == 409:
                    message = f"{replica.url}: 409 to a request the inbox does not hold: {answer[:300]!r}"
                else:
                    with self.lock:
                        self.resent += 1
                    sent_before = True
                    tried.append(replica)
                    time.sleep(0.1)
                    continue
            else:
                message = f"{replica.url}: {status} {answer[:300]!r}"
            with self.lock:
                self.errors.append(message)
            return False

    def run(self):
        """Feeds every row; returns a dict of results."""
        start = time.monotonic() + 0.05
        threads = [threading.Thread(target=self._run_group, args=(g, start), daemon=True)
                   for g in range(len(self.requests))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for _, event in self.thresholds:
            event.set()   # nobody waits forever on a threshold the rows never reached
        seconds = (self.last_answer or time.monotonic()) - (self.first_sent or start)
        return {"rows": self.accepted, "seconds": seconds, "rows_per_s": self.accepted / seconds if seconds > 0 else 0,
                "resent": self.resent, "broken_committed": self.broken_committed,
                "refused_connections": self.refused_connections, "errors": self.errors,
                "per_replica": {r.url: r.accepted_rows for r in self.replicas}}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("metrics")
    parser.add_argument("--replica", action="append", required=True, help="base URL of a serve process (repeat)")
    parser.add_argument("--token", required=True)
    parser.add_argument("--db", help="postgres:// URL of the replicas' database (to settle a broken request)")
    parser.add_argument("--groups", type=int, default=6)
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--rate", type=float, help="rows per second in all (default: as fast as answered)")
    parser.add_argument("--part", default="1/1", help="K/N: the K-th of N slices of each service's rows")
    parser.add_argument("--psql", default="psql")
    args = parser.parse_args()
    k, n = (int(x) for x in args.part.split("/"))
    requests = read_requests(args.metrics, args.groups, args.batch, (k, n))
    result = Feeder(requests, args.replica, args.token, args.db, args.rate, psql=args.psql).run()
    for error in result["errors"][:5]:
        print("error:", error, file=sys.stderr)
    per_replica = ",".join(f"{url}={rows}" for url, rows in result["per_replica"].items())
    print(f"RESULT rows={result['rows']} seconds={result['seconds']:.3f} rows_per_s={result['rows_per_s']:.0f} "
          f"resent={result['resent']} broken_committed={result['broken_committed']} "
          f"refused={result['refused_connections']} errors={len(result['errors'])} per_replica={per_replica}")
    sys.exit(1 if result["errors"] or result["rows"] != sum(r.rows for g in requests for r in g) else 0)


if __name__ == "__main__":
    main()
