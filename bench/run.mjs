#!/usr/bin/env node
// `npm run bench`: every benchmark under bench/, each against a peer measured in the same run,
// reported as ratios of medians (these machines are noisy: never compare absolute times across runs).
// Writes bench/results.json and prints one table. Installs Debian's python3-torch (the PyTorch CPU peer) if missing.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
process.chdir(root);
const only = process.argv.slice(2);

function hasTorch() {
  return spawnSync('/usr/bin/python3', ['-c', 'import torch'], { stdio: 'ignore' }).status === 0;
}
if (!hasTorch()) {
  if (process.getuid?.() === 0) {
    console.error('bench: installing Debian python3-torch (the PyTorch CPU peer)…');
    spawnSync('apt-get', ['update', '-qq'], { stdio: 'inherit' });
    spawnSync('apt-get', ['install', '-y', '-qq', 'python3-torch'], {
      stdio: 'inherit',
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
  }
  if (!hasTorch()) console.error('bench: python3-torch is not available; PyTorch ratios will be missing');
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
  ['train-step', 'bench/train-step/bench.ts', 'training step, Flowloop / PyTorch CPU (lower is better)'],
  ['inference', 'bench/train-step/inference.ts', 'evaluation-time scoring and decoding: onnxruntime-node vs tfjs'],
  [
    'llm',
    'bench/llm/bench.ts',
    'Hugging Face causal LM forward+backward tokens/s, Flowloop / PyTorch CPU (tiny full, 0.5B-shaped LoRA; lower is better)',
  ],
  ['trie', 'bench/trie/bench.ts', 'prefix tree with flows, reference algorithm / Flowloop (higher is better)'],
  ['decode', 'bench/trie/decode.ts', 'constrained beam search: ms per row, share of time in masks'],
  ['afl', 'bench/afl/bench.ts', 'AFL loop with a 200 ms LLM, wall time / ideal (≤ 1.15)'],
  ['webview', 'bench/webview/bench.ts', 'trie view: data arrival → first paint on Video Games'],
  ['package', 'bench/package/bench.ts', 'demo from the installed VSIX / npx flowloop demo from the repository (≤ 1.5)'],
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
