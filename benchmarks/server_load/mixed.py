"""Mixed load against one `triage serve` (bundle + --db + token): ingest in order, list, approve,
/v1/services, /metrics scrapes and Server-Sent-Event subscribers, for DURATION seconds, while
wrk scores one-row bodies from the shell. Samples the server's VmRSS from /proc every second.

Every request here is valid, so every answer must be 2xx (an approve of an id approved by an
earlier round answers 200: approve is idempotent).

Usage: mixed.py HOST PORT TOKEN PID METRICS.csv DURATION
Prints: per-route counts and non-2xx, the RSS series (MiB, one per second), and
RESULT non2xx=K rss10_mib=A rss_last_mib=B drift_pct=D band_pct=W
"""
import http.client
import json
import sys
import threading
import time

from batches import bodies, read_groups


def main():
    host, port, token, pid, path, duration = (sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]),
                                              sys.argv[5], float(sys.argv[6]))
    auth = {"Authorization": f"Bearer {token}"}
    # One ordered stream of all services (a single ingest connection keeps every service in order),
    # paced at 5 bodies a second: 5 000 rows/s, about a third of what the engine ingests alone, so
    # the other routes are measured beside a busy engine rather than behind a saturated one.
    work = bodies(read_groups(path, 1, limit=int(duration * 5_000) + 10_000)[0], 1000, "csv")
    counts, bad, lock = {}, {}, threading.Lock()
    stop = threading.Event()
    deadline = time.monotonic() + duration

    def note(route, status):
        with lock:
            counts[route] = counts.get(route, 0) + 1
            if not 200 <= status < 300:
                bad[route] = bad.get(route, 0) + 1

    def call(conn, method, route, url, body=None, headers=None):
        conn.request(method, url, body=body, headers=headers or {})
        response = conn.getresponse()
        data = response.read()
        note(route, response.status)
        if not 200 <= response.status < 300 and bad.get(route, 0) <= 3:
            print(f"{method} {url}: {response.status} {data[:200]!r}", file=sys.stderr)
        return data

    def ingest():
        conn = http.client.HTTPConnection(host, port)
        headers = dict(auth, **{"Content-Type": "text/csv"})
        for i, (data, _) in enumerate(work):
            if stop.is_set():
                break
            call(conn, "POST", "/v1/metrics", "/v1/metrics", data, headers)
            pause = deadline - duration + (i + 1) * 0.2 - time.monotonic()
            if pause > 0:
                time.sleep(pause)

    def reader():
        conn = http.client.HTTPConnection(host, port)
        while not stop.is_set():
            call(conn, "GET", "/v1/recommendations", "/v1/recommendations?status=all")
            call(conn, "GET", "/v1/services", "/v1/services")
            time.sleep(0.05)

    def approver():
        conn = http.client.HTTPConnection(host, port)
        while not stop.is_set():
            pending = json.loads(call(conn, "GET", "/v1/recommendations", "/v1/recommendations?status=pending"))
            for item in pending.get("recommendations", [])[:2]:
                call(conn, "POST", "/v1/recommendations/{id}/approve", f"/v1/recommendations/{item['id']}/approve",
                     json.dumps({"comment": "load test"}), dict(auth, **{"Content-Type": "application/json"}))
            time.sleep(0.25)

    def scraper():
        conn = http.client.HTTPConnection(host, port)
        while not stop.is_set():
            call(conn, "GET", "/metrics", "/metrics")
            time.sleep(1)

    events = [0]

    def subscriber():
        conn = http.client.HTTPConnection(host, port, timeout=duration + 30)
        conn.request("GET", "/v1/events")
        response = conn.getresponse()
        note("/v1/events", response.status)
        while not stop.is_set():
            line = response.fp.readline()
            if not line:
                break
            if line.startswith(b"id:"):
                with lock:
                    events[0] += 1
        conn.close()

    rss = []

    def sampler():
        began = time.monotonic()
        for second in range(int(duration) + 1):
            with open(f"/proc/{pid}/status") as f:
                kib = next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
            rss.append(kib / 1024)
            pause = began + second + 1 - time.monotonic()
            if pause > 0 and second < int(duration):
                time.sleep(pause)

    threads = ([threading.Thread(target=f) for f in (ingest, reader, approver, scraper)]
               + [threading.Thread(target=subscriber, daemon=True) for _ in range(4)])
    for t in threads:
        t.start()
    sampler()
    stop.set()
    for t in threads[:4]:
        t.join()
    for route in sorted(counts):
        print(f"  {route}: {counts[route]} requests, {bad.get(route, 0)} non-2xx")
    print(f"  SSE events received by 4 subscribers: {events[0]}")
    print("  RSS MiB per second: " + " ".join(f"{v:.1f}" for v in rss))
    at10 = rss[10]
    window = rss[10:]
    drift = (rss[-1] - at10) / at10 * 100
    band = max(abs(v - at10) for v in window) / at10 * 100
    print(f"RESULT non2xx={sum(bad.values())} rss10_mib={at10:.1f} rss_last_mib={rss[-1]:.1f} drift_pct={drift:.1f} band_pct={band:.1f}")


if __name__ == "__main__":
    main()
