#!/usr/bin/env python3
"""Seeded black-box mutation run over the triage CLI (issue #14's target: zero crashes, zero
hangs, every failure a clean error). Driven by scripts/mutation_run.sh; see its header.

Each case takes a valid input (a 300-row numeric CSV, a metrics file, a model file written by
`triage fit`, the bundle models/simulated), mutates it (bit flips, stray quotes, truncation,
edge numbers such as 1e308, -0, NaN, inf, 400-digit strings, CR/NUL/BOM bytes, huge fields,
dropped or repeated lines; model files and bundle files flipped, truncated, enlarged or
rewritten with a matching checksum so the mutation reaches the decoders) and runs one command
with a timeout. Outcomes:

  ok           exit 0
  clean_error  exit 1 or 64, an `error:` line on stderr, no output file left behind
  CRASH        killed by a signal (SIGSEGV, SIGILL trap, SIGABRT …)
  HANG         still running at the timeout
  DIRTY        any other failure: another exit code, no `error:` line, or an output file left

Every non-ok, non-clean case is copied to OUT/<class>/<case>/ with its inputs, the command
(run.sh) and its stdout/stderr, so it can be replayed.
"""
import argparse
import collections
import concurrent.futures
import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EDGE_NUMBERS = ['1e308', '-1e308', '1e309', '-0', '0', 'NaN', 'nan', 'inf', '-inf', 'Infinity', '1e-400',
                '4.9e-324', '9' * 400, '-' + '1' * 400, '0.' + '0' * 400 + '1', '1e999999999', '',
                'NA', 'null', '0x10', '1_0', '+', '-', '.', 'e5', '1e', '١٢', '3.4028236e38']
COMMANDS = ['fit', 'score', 'score_model', 'inspect', 'watch', 'watch_model', 'watch_bundle']


def numeric_csv(rng, rows=300):
    lines = ['alpha,beta,gamma,delta,label']
    for _ in range(rows):
        values = [f'{rng.gauss(0, 1):.5f}' for _ in range(4)]
        lines.append(','.join(values + [str(int(rng.random() < 0.05))]))
    return ('\n'.join(lines) + '\n').encode()


def mutate_text(data, rng):
    """1-3 CSV-aware or byte-level mutations."""
    data = bytearray(data)
    for _ in range(rng.randint(1, 3)):
        op = rng.randrange(11)
        lines = bytes(data).split(b'\n')
        if op == 0 and data:  # bit flips
            for _ in range(rng.randint(1, 8)):
                i = rng.randrange(len(data))
                data[i] ^= 1 << rng.randrange(8)
        elif op == 1 and len(lines) > 1:  # stray quote(s) at the end of or inside an unquoted field
            n = rng.randrange(1, len(lines))
            line = lines[n]
            cut = line.rfind(b',') if rng.random() < 0.5 else rng.randrange(len(line) + 1)
            quotes = rng.choice([b'"', b'""', b'"""'])
            lines[n] = line + quotes if rng.random() < 0.5 else line[:cut + 1] + quotes + line[cut + 1:]
            data = bytearray(b'\n'.join(lines))
        elif op == 2 and data:  # truncation
            del data[rng.randrange(len(data)):]
        elif op == 3 and len(lines) > 2:  # an edge number in a random field
            n = rng.randrange(1, len(lines) - 1)
            fields = lines[n].split(b',')
            fields[rng.randrange(len(fields))] = rng.choice(EDGE_NUMBERS).encode()
            lines[n] = b','.join(fields)
            data = bytearray(b'\n'.join(lines))
        elif op == 4:  # special byte inserted
            i = rng.randrange(len(data) + 1)
            data[i:i] = rng.choice([b'\r', b'\0', b'\xef\xbb\xbf', b'\xff', b',', b'\n', b'"\n"', b' '])
        elif op == 5 and len(lines) > 2:  # drop or repeat a line
            n = rng.randrange(len(lines))
            if rng.random() < 0.5:
                del lines[n]
            else:
                lines.insert(n, lines[n])
            data = bytearray(b'\n'.join(lines))
        elif op == 6 and len(lines) > 2:  # a very long field
            n = rng.randrange(1, len(lines) - 1)
            lines[n] = lines[n] + b'9' * rng.choice([1000, 70_000, 300_000])
            data = bytearray(b'\n'.join(lines))
        elif op == 7 and len(lines) > 1:  # header damage: duplicate, drop or empty a column name
            fields = lines[0].split(b',')
            k = rng.randrange(len(fields))
            fields[k] = rng.choice([fields[0], b'', b'"x"', b'a"b', fields[k] + b' '])
            lines[0] = b','.join(fields)
            data = bytearray(b'\n'.join(lines))
        elif op == 8:  # CRLF everywhere or a quoted field with a line break
            data = bytearray(bytes(data).replace(b'\n', b'\r\n')) if rng.random() < 0.5 else \
                bytearray(bytes(data).replace(b',', b',"x\ny",', 1))
        elif op == 9 and len(lines) > 2:  # a ragged row
            n = rng.randrange(1, len(lines) - 1)
            lines[n] = lines[n] + b',1' if rng.random() < 0.5 else lines[n].rsplit(b',', 1)[0]
            data = bytearray(b'\n'.join(lines))
        elif op == 10 and data:  # random byte overwritten
            data[rng.randrange(len(data))] = rng.randrange(256)
    return bytes(data)


def mutate_model(data, rng):
    """Flipped bytes, truncation, enlargement, or a payload edit with a matching checksum."""
    op = rng.randrange(6)
    data = bytearray(data)
    if op == 0:
        for _ in range(rng.randint(1, 6)):
            i = rng.randrange(len(data))
            data[i] ^= 1 << rng.randrange(8)
    elif op == 1:
        del data[rng.randrange(len(data)):]
    elif op == 2:
        data += rng.choice([b'\n', b'x' * rng.randint(1, 5000), bytes(data)])
    elif op == 3:  # a header that claims another size
        head, header, payload = bytes(data).split(b'\n', 2)
        h = json.loads(header)
        h['payload_bytes'] = rng.choice([0, -1, 10 ** 12, 2 ** 63 - 1, h['payload_bytes'] + 1])
        data = bytearray(head + b'\n' + json.dumps(h).encode() + b'\n' + payload)
    else:  # payload edited, checksum recomputed: the decoder and the model's checks see it
        head, header, payload = bytes(data).split(b'\n', 2)
        payload = edit_json(payload, rng)
        h = json.loads(header)
        h['payload_bytes'] = len(payload)
        h['payload_sha256'] = hashlib.sha256(payload).hexdigest()
        data = bytearray(head + b'\n' + json.dumps(h, separators=(',', ':')).encode() + b'\n' + payload)
    return bytes(data)


def edit_json(payload, rng):
    """Replaces one number of a JSON payload by an edge value, or flips a byte."""
    text = payload.decode('utf-8', 'replace')
    digits = [i for i, c in enumerate(text) if c.isdigit() and (i == 0 or not text[i - 1].isalnum())]
    if digits and rng.random() < 0.8:
        i = rng.choice(digits)
        j = i
        while j < len(text) and (text[j].isdigit() or text[j] in '.eE+-'):
            j += 1
        new = rng.choice(['1e12', '-1', '0', '1e308', '-0', '999999999999999999999', '"nan"', '2147483648',
                          '9223372036854775807', 'null', '[]', '1.5'])
        return (text[:i] + new + text[j:]).encode()
    data = bytearray(payload)
    data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
    return bytes(data)


def make_case(i, seed, base, work):
    """Writes case i's inputs into work and returns (command kind, argv, output paths)."""
    rng = random.Random(f'{seed}-{i}')
    kind = COMMANDS[i % len(COMMANDS)]
    out = os.path.join(work, 'out')
    if kind == 'fit':
        path = os.path.join(work, 'data.csv')
        open(path, 'wb').write(mutate_text(base['csv'], rng))
        estimator = rng.choice(['iforest', 'iforest', 'tree', 'autoencoder'])
        argv = ['fit', estimator, path, '--output', out + '.model']
        argv += {'iforest': ['--trees', '5', '--sample-size', '32'], 'tree': ['--target', 'label', '--max-depth', '4'],
                 'autoencoder': ['--epochs', '2', '--hidden', '4']}[estimator]
        return kind, argv, [out + '.model']
    if kind == 'score':
        path = os.path.join(work, 'data.csv')
        open(path, 'wb').write(mutate_text(base['csv'], rng))
        model = rng.choice(['iforest', 'tree'])
        return kind, ['score', base[model], path, '--output', out + '.csv'], [out + '.csv']
    if kind == 'score_model':
        model = os.path.join(work, 'model.model')
        open(model, 'wb').write(mutate_model(open(base[rng.choice(['iforest', 'tree'])], 'rb').read(), rng))
        return kind, ['score', model, base['csv_path'], '--output', out + '.csv'], [out + '.csv']
    if kind == 'inspect':
        model = os.path.join(work, 'model.model')
        open(model, 'wb').write(mutate_model(open(base[rng.choice(['iforest', 'tree'])], 'rb').read(), rng))
        return kind, ['inspect', model] + (['--json'] if rng.random() < 0.5 else []), []
    if kind == 'watch':
        path = os.path.join(work, 'metrics.csv')
        open(path, 'wb').write(mutate_text(base['single'], rng))
        return kind, ['watch', path, '--scores', out + '.csv'], [out + '.csv']
    if kind == 'watch_model':
        path = os.path.join(work, 'metrics.csv')
        open(path, 'wb').write(mutate_text(base['metrics'], rng))
        return kind, ['watch', path, '--model', base['bundle'], '--db', os.path.join(work, 'q.sqlite'),
                      '--events', out + '.jsonl'], [out + '.jsonl']
    # watch_bundle: the bundle is mutated, the metrics are valid.
    bundle = os.path.join(work, 'bundle')
    shutil.copytree(base['bundle'], bundle)
    name = rng.choice(['manifest.json', 'manifest.json', 'iforest.model', 'autoencoder.model', 'policy.model',
                       'features.json', 'baselines.json'])
    target = os.path.join(bundle, name)
    data = open(target, 'rb').read()
    if name.endswith('.model'):
        data = mutate_model(data, rng)
    elif rng.random() < 0.5:
        data = edit_json(data, rng)
    else:
        data = mutate_text(data, rng)
    open(target, 'wb').write(data)
    if name != 'manifest.json' and rng.random() < 0.6:  # keep the manifest's checksum true
        manifest = json.load(open(os.path.join(bundle, 'manifest.json')))
        manifest['files'][name]['sha256'] = hashlib.sha256(data).hexdigest()
        manifest['files'][name]['bytes'] = len(data)
        json.dump(manifest, open(os.path.join(bundle, 'manifest.json'), 'w'), indent=2, sort_keys=True)
    return kind, ['watch', base['metrics_path'], '--model', bundle, '--db', os.path.join(work, 'q.sqlite'),
                  '--events', out + '.jsonl'], [out + '.jsonl']


def has_stray_quote(data):
    """A `"` inside an unquoted field or right after a closing quote (RFC 4180 scan)."""
    in_quotes, field_start, after_close, i = False, True, False, 0
    while i < len(data):
        b = data[i]
        if in_quotes:
            if b == 0x22:
                if i + 1 < len(data) and data[i + 1] == 0x22:
                    i += 2
                    continue
                in_quotes, after_close = False, True
        elif b == 0x22:
            if not field_start or after_close:
                return True
            in_quotes = True
        elif b in (0x2C, 0x0A) or (b == 0x0D and i + 1 < len(data) and data[i + 1] == 0x0A):
            field_start, after_close = True, False
            i += 1
            continue
        field_start = False
        i += 1
    return False


def run_case(i, args, base, root):
    work = os.path.join(root, f'case{i}')
    os.makedirs(work)
    kind, argv, outputs = make_case(i, args.seed, base, work)
    start = time.monotonic()
    env = dict(os.environ, SWIFT_BACKTRACE='enable=no')
    p = subprocess.Popen([args.binary] + argv, cwd=work, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         start_new_session=True, env=env)
    try:
        stdout, stderr = p.communicate(timeout=args.timeout)
        rc = p.returncode
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        stdout, stderr = p.communicate()
        rc = None
    elapsed = time.monotonic() - start
    err = stderr.decode('utf-8', 'replace')
    left = [o for o in outputs if os.path.exists(o)]
    if rc is None:
        cls, why = 'HANG', f'still running after {args.timeout}s'
    elif rc < 0 or rc >= 128:
        sig = -rc if rc < 0 else rc - 128
        cls, why = 'CRASH', f'signal {signal.Signals(sig).name if sig in signal.valid_signals() else sig}'
    elif rc == 0:
        cls, why = 'ok', ''
    else:
        problems = []
        if rc not in (1, 64):
            problems.append(f'exit {rc}')
        if not any(line.startswith('error:') for line in err.splitlines()):
            problems.append('no error: line')
        if left:
            problems.append('output left: ' + ', '.join(os.path.basename(o) for o in left))
        cls, why = ('DIRTY', '; '.join(problems)) if problems else ('clean_error', '')
    for name in ('data.csv', 'metrics.csv'):
        if cls == 'CRASH' and os.path.exists(os.path.join(work, name)) and has_stray_quote(open(os.path.join(work, name), 'rb').read()):
            why += ' (input has a stray quote)'
    result = {'case': i, 'kind': kind, 'class': cls, 'why': why, 'rc': rc, 'seconds': round(elapsed, 2),
              'argv': argv, 'stderr': err[-2000:]}
    if cls not in ('ok', 'clean_error'):
        dest = os.path.join(args.out, cls, f'case{i}-{kind}')
        shutil.rmtree(dest, ignore_errors=True)
        shutil.copytree(work, dest)
        # Inputs shared by all cases (base model, metrics) are copied too; run.sh uses paths
        # relative to the case folder, except the repository's own bundle.
        replay = []
        for a in argv:
            if a.startswith(work + '/'):
                a = './' + os.path.relpath(a, work)
            elif a.startswith(root + '/') and os.path.isfile(a):
                shutil.copy(a, dest)
                a = './' + os.path.basename(a)
            replay.append(a)
        with open(os.path.join(dest, 'run.sh'), 'w') as f:
            f.write('#!/bin/sh\n# replay: cd to this folder, then sh run.sh\n')
            f.write(' '.join([args.binary] + ["'" + a.replace("'", "'\\''") + "'" for a in replay]) + '\n')
        open(os.path.join(dest, 'stdout'), 'wb').write(stdout[-100_000:])
        open(os.path.join(dest, 'stderr'), 'wb').write(stderr[-100_000:])
        open(os.path.join(dest, 'result.json'), 'w').write(json.dumps(result, indent=2))
    shutil.rmtree(work, ignore_errors=True)
    return result


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('cases', type=int, nargs='?', default=4000)
    ap.add_argument('seed', type=int, nargs='?', default=14)
    ap.add_argument('--binary', default=os.path.join(REPO, '.build/debug/triage'))
    ap.add_argument('--timeout', type=float, default=60)
    ap.add_argument('--jobs', type=int, default=2)
    ap.add_argument('--out', default=os.path.join(REPO, 'mutation-failures'))
    args = ap.parse_args()
    args.binary = os.path.abspath(args.binary)
    if not os.access(args.binary, os.X_OK):
        sys.exit(f'error: {args.binary} not found; build it first (swift build)')
    shutil.rmtree(args.out, ignore_errors=True)
    os.makedirs(args.out)
    root = tempfile.mkdtemp(prefix='triage-mutation-')
    rng = random.Random(args.seed)
    base = {}
    base['csv'] = numeric_csv(rng)
    base['csv_path'] = os.path.join(root, 'base.csv')
    open(base['csv_path'], 'wb').write(base['csv'])
    metrics = open(os.path.join(REPO, 'datasets/simulated/metrics.csv'), 'rb').read().split(b'\n')[:241]
    base['metrics'] = b'\n'.join(metrics) + b'\n'
    base['metrics_path'] = os.path.join(root, 'metrics.csv')
    open(base['metrics_path'], 'wb').write(base['metrics'])
    # The model-free detector reads one service: svc-01's rows without the service column.
    single = [b'timestamp,' + metrics[0].split(b',', 2)[2]]
    single += [l.split(b',', 2)[0] + b',' + l.split(b',', 2)[2] for l in
               open(os.path.join(REPO, 'datasets/simulated/metrics.csv'), 'rb').read().split(b'\n')[1:2401]
               if l.split(b',')[1:2] == [b'svc-01']]
    base['single'] = b'\n'.join(single) + b'\n'
    base['bundle'] = os.path.join(REPO, 'models/simulated')
    for model, extra in (('iforest', ['--trees', '10', '--sample-size', '64']), ('tree', ['--target', 'label'])):
        base[model] = os.path.join(root, f'base-{model}.model')
        subprocess.run([args.binary, 'fit', model, base['csv_path'], '--output', base[model]] + extra,
                       check=True, capture_output=True)
    counts = collections.Counter()
    by_kind = collections.defaultdict(collections.Counter)
    failures = []
    started = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
        futures = [pool.submit(run_case, i, args, base, root) for i in range(args.cases)]
        for n, future in enumerate(concurrent.futures.as_completed(futures), 1):
            r = future.result()
            counts[r['class']] += 1
            by_kind[r['kind']][r['class']] += 1
            if r['class'] not in ('ok', 'clean_error'):
                failures.append(r)
                print(f"{r['class']}: case {r['case']} {r['kind']} ({r['why']}) → {args.out}/{r['class']}/case{r['case']}-{r['kind']}",
                      file=sys.stderr)
            if n % 250 == 0:
                print(f'{n}/{args.cases} cases, {time.monotonic() - started:.0f}s', file=sys.stderr)
    shutil.rmtree(root, ignore_errors=True)
    classes = ['ok', 'clean_error', 'CRASH', 'HANG', 'DIRTY']
    print(f'mutation run: {args.cases} cases, seed {args.seed}, {args.binary}, timeout {args.timeout}s')
    print(f'{"command":14}' + ''.join(f'{c:>13}' for c in classes))
    for kind in COMMANDS:
        print(f'{kind:14}' + ''.join(f'{by_kind[kind][c]:13}' for c in classes))
    print(f'{"total":14}' + ''.join(f'{counts[c]:13}' for c in classes))
    with open(os.path.join(args.out, 'summary.json'), 'w') as f:
        json.dump({'cases': args.cases, 'seed': args.seed, 'counts': counts, 'failures': failures}, f, indent=2)
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main())
