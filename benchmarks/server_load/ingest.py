"""Ingest throughput: POST /v1/metrics with 1 000-row bodies, each posted once, in order.

Why not wrk: the engine refuses a row older than its service's last (409), so every service's
batches must arrive in order, one after the other, and each exactly once; wrk runs for a fixed
duration (its rate would include the idle tail after the bodies run out) and its Lua has no
sub-second clock. Here one keep-alive connection (http.client) per service group posts its
group's bodies in order; groups run in parallel threads (the socket waits release the GIL).
The bodies are built before the clock starts, so the client's cost per batch is one send and
one receive, small next to the server's work on 1 000 rows.

Usage: ingest.py HOST PORT TOKEN METRICS.csv GROUPS FORM(json|csv) [ROW_LIMIT]
Prints: RESULT rows=N seconds=S rows_per_s=R non2xx=K
"""
import http.client
import sys
import threading
import time

from batches import bodies, read_groups


def main():
    host, port, token, path, groups, form = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5]), sys.argv[6]
    limit = int(sys.argv[7]) if len(sys.argv) > 7 else None
    work = [bodies(rows, 1000, form) for rows in read_groups(path, groups, limit)]
    content_type = "text/csv" if form == "csv" else "application/json"
    accepted = [0] * groups
    bad = [0] * groups
    first_error = []
    start = threading.Barrier(groups + 1)

    def run(g):
        conn = http.client.HTTPConnection(host, port)
        headers = {"Content-Type": content_type, "Authorization": f"Bearer {token}"}
        start.wait()
        try:
            for data, _ in work[g]:
                conn.request("POST", "/v1/metrics", body=data, headers=headers)
                response = conn.getresponse()
                answer = response.read()
                if response.status == 202:
                    accepted[g] += int(answer.split(b":")[1].split(b"}")[0].split(b",")[0])
                else:
                    bad[g] += 1
                    if not first_error:
                        first_error.append(f"{response.status} {answer[:300]!r}")
        except OSError as error:  # the server went away: counted, and the group stops
            bad[g] += 1
            first_error.append(f"connection: {error}")
        conn.close()

    threads = [threading.Thread(target=run, args=(g,)) for g in range(groups)]
    for t in threads:
        t.start()
    start.wait()
    began = time.perf_counter()
    for t in threads:
        t.join()
    seconds = time.perf_counter() - began
    rows = sum(accepted)
    if first_error:
        print("first error:", first_error[0], file=sys.stderr)
    print(f"RESULT rows={rows} seconds={seconds:.3f} rows_per_s={rows / seconds:.0f} non2xx={sum(bad)}")


if __name__ == "__main__":
    main()
