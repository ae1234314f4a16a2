#!/usr/bin/env node
// `npm run bench`: every benchmark under bench/, each against a peer measured in the same run,
// reported as ratios of medians (these machines are noisy: never compare absolute times across runs).
// The benches that use bench/results.ts write their committed record bench/results/<date>-<name>.json
// (machine, load before/after, rounds, min/median/max); this script also keeps bench/results.json (ignored,
// the last run of every bench) and prints one table. Installs Debian's python3-torch (the PyTorch CPU peer)
// and python3-regex (the Python Qwen tokenizer of the trie peer) if missing.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
process.chdir(root);
const only = process.argv.slice(2);

const hasPy = (mod) => spawnSync('/usr/bin/python3', ['-c', `import ${mod}`], { stdio: 'ignore' }).status === 0;
const PY_PEERS = [
  ['torch', 'python3-torch', 'the PyTorch CPU peer of train-step and llm'],
  ['regex', 'python3-regex', 'the Python Qwen tokenizer of the trie peer'],
];
const missing = PY_PEERS.filter(([mod]) => !hasPy(mod));
if (missing.length) {
  if (process.getuid?.() === 0) {
    console.error(`bench: installing Debian ${missing.map((m) => m[1]).join(', ')}…`);
    spawnSync('apt-get', ['update', '-qq'], { stdio: 'inherit' });
    spawnSync('apt-get', ['install', '-y', '-qq', ...missing.map((m) => m[1])], {
      stdio: 'inherit',
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
  }
  for (const [mod, pkg, what] of missing) if (!hasPy(mod)) console.error(`bench: ${pkg} is not available; ${what} will be missing`);
}
// the optional native OpenBLAS kernels: built for this machine when the toolchain and OpenBLAS are there
if (!existsSync(join(root, 'native', 'build', 'Release', 'flowloop_native.node'))) {
  if (process.getuid?.() === 0)
    spawnSync('apt-get', ['install', '-y', '-qq', 'g++', 'libopenblas-dev'], {
      stdio: 'inherit',
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
  const b = spawnSync('sh', ['native/build.sh'], { stdio: 'inherit' });
  if (b.status !== 0) console.error('bench: native kernels not built; Flowloop runs on its WebAssembly kernels');
}
if (!existsSync(join(root, 'dist', 'cli.js'))) spawnSync('node', ['esbuild.js'], { stdio: 'inherit' });

/** name → script printing ONE JSON object on its last stdout line: { ratio?, ratios?, summary, ... } */
const BENCHES = [
  [
    'train-step',
    'bench/trainStep/bench.ts',
    'training step (batch creation included), Flowloop / PyTorch CPU, alternating rounds (lower is better)',
  ],
  [
    'inference',
    'bench/trainStep/inference.ts',
    'evaluation-time scoring (SASRec all-item logits, Flower policy next-token log-probs): tfjs / onnxruntime-node, alternating rounds, outputs checked equal',
  ],
  [
    'llm',
    'bench/llm/bench.ts',
    'Hugging Face causal LM forward+backward step time, Flowloop / PyTorch CPU, alternating rounds (tiny full, 0.5B-shaped LoRA; lower is better)',
  ],
  [
    'trie',
    'bench/trie/bench.ts',
    'prefix tree with flows from titles (tokenization included) and from ids, reference pipeline in Python / Flowloop (higher is better)',
  ],
  [
    'decode',
    'bench/trie/decode.ts',
    'constrained beam search: ms per row with the KV cache vs stateless, alternating repeats, share of time in masks',
  ],
  [
    'afl',
    'bench/afl/bench.ts',
    'AFL loop with a 200 ms LLM: wall time / ideal (≤ 1.15) and / a perfectly packed client, alternating rounds',
  ],
  ['webview', 'bench/webview/bench.ts', 'trie view: the same snapshot in the page → first paint on Video Games, naive icicles / ours'],
  [
    'package',
    'bench/package/bench.ts',
    'demo from the installed VSIX / node dist/cli.js demo from the repository (≤ 1.5), alternating rounds, metrics checked equal',
  ],
];

/** The last JSON object a bench printed: one line, or a pretty-printed block at the end of its output. */
function lastJson(out) {
  const lines = out.split('\n');
  for (let i = lines.length - 1; i >= 0; i--) {
    if (!lines[i].startsWith('{')) continue;
    try {
      return JSON.parse(lines.slice(i).join('\n'));
    } catch {
      /* not the start of the final object */
    }
  }
  return undefined;
}

const resultsFile = join(root, 'bench', 'results.json');
const results = {
  machine: { node: process.versions.node, cpus: (await import('node:os')).cpus().length, date: new Date().toISOString() },
  benches: {},
};
// a filtered run (`npm run bench -- trie`) updates those entries and keeps the others
if (only.length && existsSync(resultsFile)) results.benches = JSON.parse(readFileSync(resultsFile, 'utf8')).benches ?? {};
for (const [name, script, what] of BENCHES) {
  if (only.length && !only.includes(name)) continue;
  if (!existsSync(join(root, script))) {
    results.benches[name] = { error: `${script} missing` };
    continue;
  }
  console.error(`\n== bench ${name}: ${what}`);
  const r = spawnSync(process.execPath, ['--import', 'tsx', script], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    timeout: 30 * 60_000,
  });
  const out = (r.stdout ?? '').trim();
  const parsed = lastJson(out);
  results.benches[name] = parsed ? { what, ...parsed } : { what, error: `exit ${r.status}; no JSON result (${out.slice(-200)})` };
}
writeFileSync(resultsFile, JSON.stringify(results, null, 2) + '\n');
console.log('\nbench            result');
console.log('---------------  ------------------------------------------------------------');
/** One line per bench: its own summary, else every `ratio`-like field found in its result. */
function summarize(r) {
  if (r.error) return 'ERROR ' + r.error;
  if (r.summary) return r.summary;
  const found = [];
  const walk = (o, path) => {
    for (const [k, v] of Object.entries(o ?? {})) {
      if (typeof v === 'number' && /ratio|speedup/i.test(k)) found.push(`${path}${k}=${v}`);
      else if (v && typeof v === 'object' && !Array.isArray(v)) walk(v, `${path}${k}.`);
    }
  };
  walk(r, '');
  return found.join(', ') || JSON.stringify(r).slice(0, 200);
}
for (const [name, r] of Object.entries(results.benches))
  if (!only.length || only.includes(name)) console.log(`${name.padEnd(15)}  ${summarize(r)}`);
console.log('\nwritten: bench/results.json');
