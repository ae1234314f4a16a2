#!/usr/bin/env python3
"""The reference pipeline of Flower's prefix tree (Flower, §3 / docs/methods.md §A3), written from the
published algorithm for the benchmark: titles with interaction counts in -> Qwen token ids of each title ->
a dictionary keyed by the "-"-joined ids of a prefix ("first" for the empty prefix) whose value maps each
next token (the terminal "\n" = 198 after the last token) to the summed counts of the titles below it ->
every row normalised to log(count / row sum), i.e. log R_p of every edge. This is the data shape the
released code builds and writes (a JSON of nested dicts), with Python dicts.

In the reference's favour: each title is tokenized once (the released notebook encodes the title again at
every position); math.log instead of numpy's log on Python floats.

Tokenizer: the released code uses Hugging Face's tokenizer for Qwen2.5; Debian packages neither
`tokenizers` nor `transformers`, so the tokens come from bench/python/qwen_bpe.py, the same byte-level BPE in
pure Python (the algorithm of the slow Qwen2Tokenizer) over the tokenizer.json the project ships.

Input (stdin): {"tokenizer": path of tokenizer.json, "repeats": R, "datasets": [{"name", "file"}]}
(file = a title_counts.json). Output (stdout): one JSON object
  {"loadMs", "datasets": {name: {"e2eMs", "encodeMs", "buildMs", "structureMs": [R builds from the ids],
   "prefixes", "edges", "digest"}}}
digest = sha1 of the titles' ids (one line per title, comma-separated, lines sorted), to check both sides
tokenized alike.
"""
import hashlib
import json
import math
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'python'))
from qwen_bpe import ByteLevelBPE  # noqa: E402

TERMINAL = 198


def prefix_tree(token_lists, counts):
    """log R_p of every edge: {prefix key: {next token: log(count below the edge / count below the prefix)}}."""
    rows = {}
    for ids, c in zip(token_lists, counts):
        key = 'first'
        for i, tok in enumerate(ids):
            row = rows.get(key)
            if row is None:
                row = rows[key] = {}
            row[tok] = row.get(tok, 0.0) + c
            key = str(tok) if i == 0 else key + '-' + str(tok)
        row = rows.get(key)
        if row is None:
            row = rows[key] = {}
        row[TERMINAL] = row.get(TERMINAL, 0.0) + c
    out = {}
    for key, row in rows.items():
        total = sum(row.values())
        out[key] = {tok: math.log(c / total) for tok, c in row.items()}
    return out


def main():
    spec = json.load(sys.stdin)
    t0 = time.perf_counter()
    tok = ByteLevelBPE(spec['tokenizer'])
    load_ms = (time.perf_counter() - t0) * 1000
    repeats = int(spec.get('repeats', 3))
    result = {'loadMs': load_ms, 'datasets': {}}
    for ds in spec['datasets']:
        with open(ds['file'], encoding='utf-8') as f:
            title_counts = json.load(f)
        titles = list(title_counts.keys())
        counts = [float(v) for v in title_counts.values()]
        # end to end: titles in -> log R_p of every edge out
        t0 = time.perf_counter()
        ids = [tok.encode(t) for t in titles]
        t1 = time.perf_counter()
        tree = prefix_tree(ids, counts)
        t2 = time.perf_counter()
        # the data structure alone, from the same ids (one untimed build first)
        prefix_tree(ids, counts)
        structure = []
        for _ in range(repeats):
            s0 = time.perf_counter()
            prefix_tree(ids, counts)
            structure.append((time.perf_counter() - s0) * 1000)
        digest = hashlib.sha1('\n'.join(sorted(','.join(map(str, x)) for x in ids)).encode()).hexdigest()
        result['datasets'][ds['name']] = {
            'e2eMs': (t2 - t0) * 1000,
            'encodeMs': (t1 - t0) * 1000,
            'buildMs': (t2 - t1) * 1000,
            'structureMs': structure,
            'prefixes': len(tree),
            'edges': sum(len(r) for r in tree.values()),
            'digest': digest,
        }
    json.dump(result, sys.stdout)
    sys.stdout.write('\n')


if __name__ == '__main__':
    main()
