#!/usr/bin/env python3
"""Turns a FuzzModelFile input (control byte + raw file or payload) into the model file the
harness wrote: python3 fuzz_to_file.py INPUT OUTPUT.model"""
import hashlib, json, sys
data = open(sys.argv[1], 'rb').read()
control, rest = data[0], data[1:]
kinds = ['iforest', 'autoencoder', 'tree', 'forest', 'remediation-policy']
if control & 1:
    out = rest
else:
    kind = kinds[(control >> 1) % len(kinds)]
    header = {'format_version': 1, 'kind': kind, 'payload_bytes': len(rest), 'payload_sha256': hashlib.sha256(rest).hexdigest()}
    out = b'TRIAGE-MODEL\n' + json.dumps(header, separators=(',', ':')).encode() + b'\n' + rest
open(sys.argv[2], 'wb').write(out)
