import { test } from 'node:test';
import assert from 'node:assert/strict';
import { shared } from '../../harness/paths';
import { readCandidates, readPriorCsv } from '../../core/data/candidates';
import { loadScorer } from '../../core/models/load';
import { computePriors, priorCsv, priorHits } from '../../core/models/prior';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

test('live SASRec prior from the imported afl_lastfm_sasrec gives HR@1 = 36/122; the published prior CSV gives 34/122', async () => {
  const rows = readCandidates(shared('lastfm', 'test_candidates.jsonl'));
  const scorer = await loadScorer(shared('models', 'afl_lastfm_sasrec'), { engine: 'tfjs', device: 'cpu' });
  const live = await computePriors(scorer, rows);
  scorer.dispose();
  assert.deepEqual(priorHits(live), { hits: 36, total: 122, hr1: 36 / 122 });
  // the live top-1 is the reference model's eval-mode top-1 for every user
  const mismatched = rows.filter((r, b) => r.sasrecEvalTop1 !== undefined && r.sasrecEvalTop1 !== live[b].generate).map((r) => r.id);
  assert.deepEqual(mismatched, []);
  const published = readPriorCsv(shared('lastfm', 'prior_sasrec.csv'));
  assert.equal(priorHits(published).hits, 34);
  assert.equal(priorHits(published).total, 122);
});

test('prior CSV round-trips names with commas and quotes through readPriorCsv', () => {
  const rows = [
    { id: 0, generate: 'Woe, Is Me', real: 'Say "Anything"' },
    { id: 1, generate: 'Plain', real: 'Plain' },
  ];
  const dir = mkdtempSync(join(tmpdir(), 'flowloop-prior-'));
  try {
    const f = join(dir, 'p.csv');
    writeFileSync(f, priorCsv(rows));
    assert.deepEqual(readPriorCsv(f), rows);
    assert.deepEqual(priorHits(rows), { hits: 1, total: 2, hr1: 0.5 });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
