#!/usr/bin/env python3
"""Writes the hand-made part of the seed corpora (fuzz/corpus/<harness>/). Model files and the
approval-queue database come from a triage binary: python3 make_seeds.py ../.build/debug/triage"""
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)


def w(d, name, data):
    if isinstance(data, str):
        data = data.encode()
    os.makedirs(f'{HERE}/corpus/{d}', exist_ok=True)
    with open(f'{HERE}/corpus/{d}/{name}', 'wb') as f:
        f.write(data)


def repo(path):
    with open(f'{REPO}/{path}', 'rb') as f:
        return f.read()


csvs = {
    'plain': 'alpha,beta,gamma,delta,label\n' + ''.join(f'{i*0.1:.5f},-0.{i:05d},{i},1e-3,{i%2}\n' for i in range(12)),
    'quoted': 'a,"b ""q""",c\n"1","2.5",-3\n"4",,NaN\n7,"8",inf\n',
    'crlf': 'x,y\r\n1,2\r\n3,4\r\n\r\n5,6\r\n',
    'bom': '\ufeffx,y,z\n1,2,3\n4,5,6\n',
    'text': 'name,value,label\n"a,b",1,yes\n"line\nbreak",2,no\nplain,NA,null\n',
    'missing': 'a,b,c\n,,\n1,,\nnull,NA,NaN\n-0,1e308,-inf\n',
    'long_numbers': 'a,b\n123456789012345678901234567890,0.000000000000000000000000001\n1.5e-45,3.4028235e38\n',
    'no_newline': 'a,b\n1,2',
    'blank_lines': 'a,b\n\n1,2\n\n\n3,4\n',
}
# FuzzCSV: byte 0 = threads/lane/roles/precision, byte 1 = chunk size, then the file.
for name, text in csvs.items():
    for control in (0x00, 0x05, 0x0A, 0x13, 0x26):
        w('csv', f'{name}_{control:02x}', bytes([control, 7]) + text.encode())

metrics = {
    'wide': 'timestamp,cpu,memory,latency\n2026-01-05T00:00:00Z,30.1,54.0,38.7\n2026-01-05T00:01:00Z,31,NA,\n"2026-01-05T00:02:00Z","1",2,3\n',
    'long': 'timestamp,service,cpu,memory,label\n2026-01-05T00:00:00Z,svc-01,30.1,54.0,0\r\n2026-01-05 00:01:00,"svc-02",1,2,1\n1767225600,svc-01,inf,-1e3,0\n',
    'offsets': 'timestamp,v\n2026-01-05T00:00:00.250+02:00,1\n2026-01-05t00:00:00-0130,2\n2026-02-29T00:00:00Z,3\n',
}
# FuzzMetricsRow: byte 0 = service column / excluded label.
for name, text in metrics.items():
    for control in (0, 1, 3):
        w('metrics_row', f'{name}_{control}', bytes([control]) + text.encode())

for i, t in enumerate(['2026-01-05T00:00:00Z', '2026-01-05 00:00:00', '2026-01-05T00:00:00.123456Z',
                       '2026-01-05T00:00:00+05:30', '1767225600', '1767225600.5', '0001-01-01T00:00:00Z',
                       '9999-12-31T23:59:60Z', '2024-02-29T12:00:00-08:00', ' 2026-01-05T00:00:00Z\t', '-1']):
    w('timestamp', f'ts{i}', t + ('\0' * 8 if i % 3 == 0 else ''))

inc = repo('datasets/simulated/incidents.csv').decode().splitlines(True)
w('incident_log', 'head', ''.join(inc[:12]))
w('incident_log', 'crlf', '\r\n'.join(l.rstrip('\n') for l in inc[:6]) + '\r\n')
w('incident_log', 'header_only', inc[0])
w('incident_log', 'quoted', inc[0] + '"INC-1","svc-01","2026-01-05T01:20:00Z","2026-01-05T01:24:22Z",'
  '"hung_process","restart","success","12.5"\n')

# FuzzBundle: byte 0 % 6 = which file the input replaces (0 manifest.json, 1 features.json,
# 2 baselines.json, 3 policy.model, 4 iforest.model, 5 autoencoder.model).
manifest = json.loads(repo('models/simulated/manifest.json'))
for role, name in (('iforest', 'iforest.model'), ('autoencoder', 'autoencoder.model'), ('action_classifier', 'forest.model')):
    del manifest['models'][role]  # the harness's base bundle leaves the heavy models out
    del manifest['files'][name]
w('bundle', 'manifest', b'\x00' + json.dumps(manifest, indent=2, sort_keys=True).encode())
w('bundle', 'features', b'\x01' + repo('models/simulated/features.json'))
w('bundle', 'baselines', b'\x02' + repo('models/simulated/baselines.json'))
w('bundle', 'policy', b'\x03' + repo('models/simulated/policy.model'))

# FuzzModelFile: byte 0 bit 0 = raw file; otherwise bits 1-3 = kind and the rest is the payload.
policy = repo('models/simulated/policy.model')
w('model_file', 'policy_raw', b'\x01' + policy)
w('model_file', 'policy_payload', bytes([4 << 1]) + policy.split(b'\n', 2)[2])


def from_binary(binary):
    """Model files from `triage fit` on a small CSV and an approval queue from `triage watch`."""
    import random
    import sqlite3
    import subprocess
    import tempfile
    tmp = tempfile.mkdtemp()
    r = random.Random(1)
    rows = ['alpha,beta,gamma,label'] + [f'{r.gauss(0,1):.4f},{r.gauss(0,1):.4f},{r.gauss(0,1):.4f},{int(r.random()<0.3)}'
                                         for _ in range(60)]
    open(f'{tmp}/d.csv', 'w').write('\n'.join(rows) + '\n')
    fits = {'iforest': ['--trees', '3', '--sample-size', '16'], 'tree': ['--target', 'label', '--max-depth', '3'],
            'forest': ['--target', 'label', '--trees', '2', '--max-depth', '2'], 'autoencoder': ['--epochs', '2', '--hidden', '2']}
    kinds = ['iforest', 'autoencoder', 'tree', 'forest', 'remediation-policy']  # FuzzModelFile's order
    for kind, extra in fits.items():
        subprocess.run([binary, 'fit', kind, f'{tmp}/d.csv', '--output', f'{tmp}/{kind}.model'] + extra, check=True)
        data = open(f'{tmp}/{kind}.model', 'rb').read()
        w('model_file', f'{kind}_raw', b'\x01' + data)
        w('model_file', f'{kind}_payload', bytes([kinds.index(kind) << 1]) + data.split(b'\n', 2)[2])
    metrics = repo('datasets/simulated/metrics.csv').split(b'\n')[:400]
    open(f'{tmp}/m.csv', 'wb').write(b'\n'.join(metrics) + b'\n')
    subprocess.run([binary, 'watch', f'{tmp}/m.csv', '--model', f'{REPO}/models/simulated', '--db', f'{tmp}/q.sqlite',
                    '--events', f'{tmp}/e.jsonl'], check=True)
    db = sqlite3.connect(f'{tmp}/q.sqlite')
    db.execute('PRAGMA journal_mode=DELETE')
    db.execute('PRAGMA page_size=512')
    db.execute('VACUUM')  # small pages: a 10 KB seed instead of 80 KB
    db.close()
    w('approvals', 'queue', open(f'{tmp}/q.sqlite', 'rb').read())
    # Small detectors on the bundle's detector features, for FuzzBundle's modes 4 and 5.
    names = manifest['detector_features']
    rows = [','.join(names)] + [','.join(f'{r.gauss(0, 1):.3f}' for _ in names) for _ in range(40)]
    open(f'{tmp}/z.csv', 'w').write('\n'.join(rows) + '\n')
    for control, kind, extra in ((4, 'iforest', ['--trees', '2', '--sample-size', '8']),
                                 (5, 'autoencoder', ['--epochs', '1', '--hidden', '2'])):
        subprocess.run([binary, 'fit', kind, f'{tmp}/z.csv', '--output', f'{tmp}/z-{kind}.model'] + extra, check=True)
        w('bundle', kind, bytes([control]) + open(f'{tmp}/z-{kind}.model', 'rb').read())


if __name__ == '__main__' and len(sys.argv) > 1:
    from_binary(sys.argv[1])
