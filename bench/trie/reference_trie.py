#!/usr/bin/env python3
"""The reference's prefix-tree construction (Flower, with_history/process.ipynb, "Default" cell, n=1),
re-expressed for the benchmark: a defaultdict of defaultdict(float) keyed by "-"-joined token-id prefixes
("first" for the root), counts accumulated per title, then every row normalised to log(count / row sum).

Differences from the notebook, all in the reference's favour (so the measured ratio is conservative):
- titles arrive pre-tokenized (the notebook calls tokenizer.encode(d) again for every position, O(L) times
  per title); tokenization is benchmarked separately;
- math.log instead of np.log on Python scalars (math.log is faster).

Input (stdin): {"repeats": R, "warmup": W (untimed builds first, default 1), "datasets": [{"name": str, "seqs": [[ids...]], "counts": [number]}]}
seqs are the title token ids WITHOUT the terminal (the notebook appends end_of_sentence_token_id itself).
Output (stdout): one JSON object {"name": {"times_s": [...], "prefixes": int, "edges": int}, ...}.
"""
import json
import math
import sys
import time
from collections import defaultdict

END_OF_SENTENCE = 198


def get_hash(x):
    x = [str(_) for _ in x]
    return '-'.join(x)


def nested_defaultdict():
    return defaultdict(float)


def build(item_tokens):
    """item_tokens: list of (tokens, count) in title_counts.json order. Mirrors the notebook cell."""
    token_distri = defaultdict(nested_defaultdict)
    for tokens, v in item_tokens:
        n = len(tokens)
        for i in range(n):
            if i == 0:
                token_distri['first'][tokens[i]] += v
                if i == n - 1:
                    token_distri[str(tokens[i])][END_OF_SENTENCE] += v
            elif i == n - 1:
                token_distri[get_hash(tokens[:i])][tokens[i]] += v
                token_distri[get_hash(tokens)][END_OF_SENTENCE] += v
            else:
                token_distri[get_hash(tokens[:i])][tokens[i]] += v
    token = {}
    for k, v in token_distri.items():
        total_sum = sum(v.values())
        v = {key: math.log(value / total_sum) for key, value in v.items()}
        token[k] = v
    return token


def main():
    spec = json.load(sys.stdin)
    repeats = int(spec.get('repeats', 5))
    out = {}
    for ds in spec['datasets']:
        items = list(zip(ds['seqs'], ds['counts']))
        times = []
        result = None
        for _ in range(int(spec.get('warmup', 1))):  # not timed: first build in a fresh interpreter
            build(items)
        for _ in range(repeats):
            t0 = time.perf_counter()
            result = build(items)
            times.append(time.perf_counter() - t0)
        out[ds['name']] = {
            'times_s': times,
            'prefixes': len(result),
            'edges': sum(len(v) for v in result.values()),
        }
    json.dump(out, sys.stdout)
    sys.stdout.write('\n')


if __name__ == '__main__':
    main()
