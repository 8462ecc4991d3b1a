#!/usr/bin/env python3
"""Differential check of Triage's CSV reader against Python's csv module (strict=True) as oracle.

    python3 benchmarks/csv_differential.py [--files N] [--seed S] [--out DIR] [--binary PATH]

Generates seeded random files — valid ones written by csv.writer (minimal or full quoting,
escaped quotes, CRLF or LF, BOM, blank lines, empty fields, missing-value words, edge numbers)
and invalid ones (1-3 random insertions, replacements or deletions of `"` `,` `\\r` `\\n` `\\0`
space or a non-UTF-8 byte) — plus, systematically, every special byte inserted at and written
over every position of a few small base files. Each file is read by Triage twice, all columns
as text and all columns as numbers (with 1, 2 or 4 threads, either lane, small chunks), and by
the oracle. Rules:

* oracle accepts, Triage accepts: same header (names trimmed of blanks, as Triage does), same
  rows and values (blank lines skipped by both); numbers equal as doubles, sign of zero included.
* oracle refuses (csv.Error or invalid UTF-8): Triage must refuse.
* oracle accepts, Triage refuses: allowed only for Triage's documented strictness — a quote
  inside an unquoted field (RFC 4180 requires quoting; Python keeps it as a literal), a value
  that is not a number in a numeric column — and, as README "Data files" states, NUL bytes,
  ragged rows, duplicate column names and header-only files. Anything else is a disagreement.
* never fewer rows without an error (covered by the row comparison).

Triage is driven through the CSV fuzz harness's dump mode (fuzz/Sources/FuzzCSV, built by
scripts/fuzz.sh): it calls CSVReader itself, so the check exercises exactly the library code,
under AddressSanitizer, and can switch threads and the plain-record lane, which the CLI cannot.
Prints counts by class; disagreeing files are copied to DIR (default /tmp/csv-differential)
with a .txt note each. Exit status 1 when any disagreement or crash is found.
"""
import argparse
import collections
import csv
import io
import json
import math
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
SPECIAL = [b'"', b',', b'\r', b'\n', b'\0', b' ', b'\xff']
NUMBER = re.compile(r'[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$')
MISSING = {'', 'nan', 'na', 'n/a', 'null', 'none'}
INFINITE = {'inf': math.inf, '+inf': math.inf, '-inf': -math.inf,
            'infinity': math.inf, '+infinity': math.inf, '-infinity': -math.inf}
ALLOWED = {'stray_quote', 'lone_cr', 'not_a_number', 'nul_byte', 'ragged_row', 'duplicate_name', 'no_rows'}
NUMBERS = ['0', '-0', '1', '-17', '3.25', '-0.90349', '1e308', '-1e308', '1e-320', '2.5e-3', '+4', '.5',
           '5.', '1E5', 'inf', '-inf', 'Infinity', 'NaN', 'NA', 'null', 'None', 'N/A', '', ' 3.5 ',
           '123456789012345678901234567890', '0.000000000000000000000000000000000001', '1e309', '0x10',
           '1_000', '12"', 'abc', '1,5', '4.9e-324', '179769313486231570000000000000000000000000']


def oracle_number(s):
    t = s.strip(' \t')
    if t.lower() in MISSING:
        return None
    if t.lower() in INFINITE:
        return INFINITE[t.lower()]
    if NUMBER.fullmatch(t):
        return float(t)
    return 'not a number'


def scan(data):
    """(stray quote, lone CR outside quotes) by an RFC 4180 scan of the raw bytes. Triage refuses
    both (README, "Data files"); Python's csv keeps a stray quote as text and ends a line at a
    lone CR, so these are the documented, allowed differences."""
    in_quotes = False
    field_start = True
    after_close = False
    stray = lone_cr = False
    # Like the reader: a BOM, then any CR and LF bytes before the header, are skipped.
    i = 3 if data.startswith(b'\xef\xbb\xbf') else 0
    while i < len(data) and data[i] in (0x0A, 0x0D):
        i += 1
    while i < len(data):
        b = data[i]
        if in_quotes:
            if b == 0x22:
                if i + 1 < len(data) and data[i + 1] == 0x22:
                    i += 2
                    continue
                in_quotes = False
                after_close = True
        elif b == 0x22:
            if not field_start or after_close:
                stray = True
            in_quotes = True
        elif b == 0x0D and not (i + 1 < len(data) and data[i + 1] == 0x0A) and i + 1 != len(data):
            lone_cr = True
        elif b in (0x2C, 0x0A, 0x0D):
            field_start = True
            after_close = False
            i += 1
            continue
        field_start = False
        i += 1
    return stray, lone_cr


def oracle(data):
    """('accept', header, rows) or ('refuse', reason)."""
    try:
        text = data.decode('utf-8')
    except UnicodeDecodeError:
        return ('refuse', 'invalid UTF-8')
    if text.startswith('\ufeff'):
        text = text[1:]
    try:
        rows = [r for r in csv.reader(io.StringIO(text, newline=''), strict=True) if r != []]
    except csv.Error as e:
        return ('refuse', str(e))
    if not rows:
        return ('refuse', 'empty file')
    return ('accept', [n.strip(' \t') for n in rows[0]], rows[1:])


def documented_refusals(data, header, rows, numeric):
    """Reasons Triage documents for refusing a file the oracle accepts, in the order checked."""
    stray, lone_cr = scan(data)
    reasons = []
    if stray:
        reasons.append('stray_quote')
    if lone_cr:
        reasons.append('lone_cr')
    if b'\0' in data:
        reasons.append('nul_byte')
    if not rows:
        reasons.append('no_rows')
    if len(set(header)) != len(header):
        reasons.append('duplicate_name')
    if any(len(r) != len(header) for r in rows):
        reasons.append('ragged_row')
    if numeric and any(oracle_number(v) == 'not a number' for r in rows for v in r):
        reasons.append('not_a_number')
    return reasons


def compare(data, verdict, triage, numeric):
    cls = compare_plain(data, verdict, triage, numeric)
    if cls.startswith('DISAGREE') and scan(data)[1] and '(lone CR)' not in cls:
        cls += ' (lone CR)'
    return cls


def compare_plain(data, verdict, triage, numeric):
    """The class of one (file, mode) pair: 'agree:…', 'allowed:…' or 'DISAGREE:…'."""
    mode = 'numeric' if numeric else 'text'
    if triage is None:
        return 'CRASH:' + ('stray_quote' if scan(data)[0] else 'other')
    if verdict[0] == 'refuse':
        return 'agree:both_refuse' if not triage['ok'] else f'DISAGREE:triage_accepts_oracle_refuses ({verdict[1]})'
    header, rows = verdict[1], verdict[2]
    reasons = documented_refusals(data, header, rows, numeric)
    lone_cr = scan(data)[1]
    if not triage['ok']:
        allowed = [r for r in reasons if r in ALLOWED]
        if allowed:
            return 'allowed:' + allowed[0]
        return 'DISAGREE:triage_refuses_valid' + (' (lone CR)' if lone_cr else '')
    if reasons:
        return f'DISAGREE:triage_accepts_{reasons[0]}'
    if triage['header'] != header:
        return 'DISAGREE:header_differs' + (' (lone CR)' if lone_cr else '')
    got = triage['rows']
    if len(got) != len(rows):
        return ('DISAGREE:fewer_rows' if len(got) < len(rows) else 'DISAGREE:more_rows') + (' (lone CR)' if lone_cr else '')
    for want_row, got_row in zip(rows, got):
        for want, have in zip(want_row, got_row):
            if numeric:
                w = oracle_number(want)
                h = None if have is None else (math.inf if have == 'inf' else -math.inf if have == '-inf' else float(have))
                if w is None or h is None:
                    if w is not h:
                        return f'DISAGREE:{mode}_value_differs'
                elif w != h or math.copysign(1, w) != math.copysign(1, h):
                    return f'DISAGREE:{mode}_value_differs'
            elif want != have:
                return f'DISAGREE:{mode}_value_differs' + (' (lone CR)' if lone_cr else '')
    return 'agree:same_table'


# ---------- generation ----------

def random_text(rng):
    alphabet = 'abcxyz ABC-_.é€12"\',\n\r\t'
    return ''.join(rng.choice(alphabet) for _ in range(rng.randint(0, 8)))


def valid_file(rng):
    columns = rng.randint(1, 5)
    numeric = rng.random() < 0.6
    names = [f'c{i}' if rng.random() < 0.8 else f' c{i} ' for i in range(columns)]
    rows = []
    for _ in range(rng.randint(0, 12)):
        if numeric:
            rows.append([rng.choice(NUMBERS[:26]) if rng.random() < 0.7 else repr(rng.uniform(-1e6, 1e6))
                         for _ in range(columns)])
        else:
            rows.append([random_text(rng) if rng.random() < 0.5 else rng.choice(NUMBERS) for _ in range(columns)])
    out = io.StringIO()
    writer = csv.writer(out, quoting=rng.choice([csv.QUOTE_MINIMAL, csv.QUOTE_ALL]),
                        lineterminator=rng.choice(['\n', '\r\n']))
    writer.writerow(names)
    for r in rows:
        writer.writerow(r)
        if rng.random() < 0.05:
            out.write(rng.choice(['\n', '\r\n']))
    text = out.getvalue()
    if rng.random() < 0.15:
        text = '\ufeff' + text
    if rng.random() < 0.15:
        text = text.rstrip('\r\n')
    return text.encode('utf-8')


def mutate(data, rng):
    data = bytearray(data)
    for _ in range(rng.randint(1, 3)):
        op = rng.random()
        pos = rng.randint(0, len(data))
        byte = rng.choice(SPECIAL)
        if op < 0.45 or pos == len(data):
            data[pos:pos] = byte
        elif op < 0.85:
            data[pos:pos + 1] = byte
        else:
            del data[pos]
    return bytes(data)


BASES = [b'a,b\n1,2\n', b'x,"y"\r\n"1",-0.5\r\n', b'p,q,r\n1,,3\n"4","5""",6\n', b'\xef\xbb\xbfh\n7\n']


def systematic():
    """Every special byte inserted at, and written over, every position of each base file."""
    for base in BASES:
        for pos in range(len(base) + 1):
            for byte in SPECIAL:
                yield base[:pos] + byte + base[pos:]
                if pos < len(base):
                    yield base[:pos] + byte + base[pos + 1:]


# ---------- driving Triage ----------

def run_triage(binary, paths, numeric, config, workdir):
    """JSON outcome per path (None = the process died on that file)."""
    env = dict(os.environ, CSV_DUMP_ROLE='numeric' if numeric else 'text', SWIFT_BACKTRACE='enable=no',
               ASAN_OPTIONS='detect_leaks=0', CSV_DUMP_THREADS=str(config[0]), CSV_DUMP_LANE=str(config[1]),
               CSV_DUMP_CHUNK=str(config[2]))
    listing = os.path.join(workdir, 'list.txt')
    with open(listing, 'w') as f:
        f.write('\n'.join(paths) + '\n')
    p = subprocess.run([binary], env=dict(env, CSV_DUMP=listing, CSV_DUMP_LIST='1'),
                       capture_output=True, timeout=600)
    lines = p.stdout.decode('utf-8', 'replace').split('\n')[:-1]
    if p.returncode == 0 and len(lines) == len(paths):
        return [json.loads(l) for l in lines]
    # A file crashed the batch: the files before it are known, the rest are run one by one.
    results = []
    for l in lines:
        try:
            results.append(json.loads(l))
        except ValueError:
            break
    for path in paths[len(results):]:
        try:
            q = subprocess.run([binary], env=dict(env, CSV_DUMP=path), capture_output=True, timeout=20)
            out = q.stdout.decode('utf-8', 'replace').strip()
            results.append(json.loads(out) if q.returncode == 0 and out else None)
        except subprocess.TimeoutExpired:
            results.append(None)
    return results


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--files', type=int, default=3000, help='random files (besides the systematic ones)')
    ap.add_argument('--seed', type=int, default=14)
    ap.add_argument('--out', default='/tmp/csv-differential')
    ap.add_argument('--binary', default=os.path.join(REPO, 'fuzz/.build-fuzz/release/FuzzCSV'))
    ap.add_argument('--batch', type=int, default=400)
    args = ap.parse_args()
    if not os.path.exists(args.binary):
        sys.exit(f'error: {args.binary} not found; build it with scripts/fuzz.sh 0 (or FUZZ_NO_BUILD unset)')
    rng = random.Random(args.seed)
    files = [(f'sys{i}', d) for i, d in enumerate(systematic())]
    for i in range(args.files):
        d = valid_file(rng)
        files.append((f'rnd{i}', d if rng.random() < 0.4 else mutate(d, rng)))
    shutil.rmtree(args.out, ignore_errors=True)
    os.makedirs(args.out)
    configs = [(1, 1, 1 << 20), (4, 0, 16), (2, 1, 8), (4, 1, 1)]
    counts = collections.Counter()
    examples = {}
    with tempfile.TemporaryDirectory(prefix='csv-diff-', dir='/dev/shm' if os.path.isdir('/dev/shm') else None) as work:
        for start in range(0, len(files), args.batch):
            batch = files[start:start + args.batch]
            paths = []
            for name, data in batch:
                path = os.path.join(work, name + '.csv')
                with open(path, 'wb') as f:
                    f.write(data)
                paths.append(path)
            config = configs[(start // args.batch) % len(configs)]
            for numeric in (False, True):
                outcomes = run_triage(args.binary, paths, numeric, config, work)
                for (name, data), outcome in zip(batch, outcomes):
                    cls = compare(data, oracle(data), outcome, numeric)
                    mode = 'numeric' if numeric else 'text'
                    counts[(mode, cls)] += 1
                    if not cls.startswith(('agree', 'allowed')):
                        key = (mode, cls)
                        examples.setdefault(key, []).append(name)
                        if len(examples[key]) <= 5:
                            shutil.copy(os.path.join(work, name + '.csv'), os.path.join(args.out, f'{name}.csv'))
                            with open(os.path.join(args.out, f'{name}.{mode}.txt'), 'w') as f:
                                f.write(f'class: {cls}\nmode: {mode} threads/lane/chunk {config}\n'
                                        f'oracle: {oracle(data)!r}\ntriage: {outcome!r}\n')
            print(f'{min(start + args.batch, len(files))}/{len(files)} files', file=sys.stderr)
    print(f'{len(files)} files (seed {args.seed}), each read as text and as numbers')
    print(f'{"mode":8} {"class":60} {"count":>7}')
    for (mode, cls), n in sorted(counts.items()):
        print(f'{mode:8} {cls:60} {n:7}')
    bad = {k: v for k, v in examples.items()}
    for (mode, cls), names in sorted(bad.items()):
        print(f'  {mode} {cls}: e.g. {", ".join(names[:5])} (in {args.out})')
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main())
