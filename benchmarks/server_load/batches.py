"""Ordered 1 000-row bodies of metric rows for POST /v1/metrics (shared by ingest.py and mixed.py)."""
import csv
import io
import json

COLUMNS = ["timestamp", "service", "cpu", "memory", "latency_p99_ms", "error_rate", "request_rate", "replicas",
           "heartbeat_age_s"]


def read_groups(path, groups, limit=None):
    """Rows of `path` (time-ordered, as `triage simulate` writes them) split into `groups` lists by
    service (svc-NN goes to group NN mod groups), each list keeping the file's order."""
    out = [[] for _ in range(groups)]
    with open(path, newline="") as f:
        for i, row in enumerate(csv.DictReader(f)):
            if limit is not None and i >= limit:
                break
            out[int(row["service"].rsplit("-", 1)[1]) % groups].append([row[c] for c in COLUMNS])
    return out


def bodies(rows, size, form):
    """`rows` cut into bodies of `size` rows, in order: (bytes, row count)."""
    result = []
    for start in range(0, len(rows), size):
        chunk = rows[start:start + size]
        if form == "csv":
            text = io.StringIO()
            w = csv.writer(text, lineterminator="\n")
            w.writerow(COLUMNS)
            w.writerows(chunk)
            data = text.getvalue()
        else:
            data = json.dumps({"rows": [{c: (v if c in ("timestamp", "service") else float(v)) for c, v in zip(COLUMNS, r)}
                                        for r in chunk]}, separators=(",", ":"))
        result.append((data.encode(), len(chunk)))
    return result
