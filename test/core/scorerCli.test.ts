import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { shared } from '../../harness/paths';
import { tempDir } from '../../harness/tempDir';
import { main as score, type CliIo } from '../../core/cli/score';
import { main as prior } from '../../core/cli/prior';
import { readCandidates, readPriorCsv } from '../../core/data/candidates';

/** Run a CLI main with its output captured. */
async function capture(fn: (io: CliIo) => Promise<number>): Promise<{ code: number; out: string; err: string }> {
  let out = '',
    err = '';
  const code = await fn({
    out: (s) => {
      out += s;
    },
    err: (s) => {
      err += s;
    },
  });
  return { code, out, err };
}

test('flowloop score writes {"id","scores"} per user aligned with cans (tfjs and onnx agree with the reference logits)', async (t) => {
  const dir = tempDir(t, 'flowloop-score-');
  const cands = shared('lastfm', 'test_candidates.jsonl');
  const ref = readCandidates(cands);
  for (const engine of ['tfjs', 'onnx']) {
    const out = join(dir, `${engine}.jsonl`);
    const r = await capture((io) =>
      score(
        ['--model', shared('models', 'afl_lastfm_sasrec'), '--candidates', cands, '--engine', engine, '--device', 'cpu', '--out', out],
        io,
      ),
    );
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /scored 122 users × 20 candidates; top-1 = next item for 36\/122/);
    const lines = readFileSync(out, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.equal(lines.length, 122);
    lines.forEach((l, b) => {
      assert.equal(l.id, ref[b].id);
      assert.equal(l.scores.length, 20);
      l.scores.forEach((s: number, j: number) =>
        assert.ok(
          Math.abs(s - ref[b].sasrecEvalScores![j]) < 1e-4,
          `${engine} user ${l.id} cand ${j}: ${s} vs ${ref[b].sasrecEvalScores![j]}`,
        ),
      );
    });
  }
});

test('flowloop prior writes the reference CSV format with HR@1 36/122 (names from cans_names or --catalogue)', async (t) => {
  const dir = tempDir(t, 'flowloop-prior-');
  for (const withCat of [false, true]) {
    const out = join(dir, `prior-${withCat}.csv`);
    const args = [
      '--model',
      shared('models', 'afl_lastfm_sasrec'),
      '--candidates',
      shared('lastfm', 'test_candidates.jsonl'),
      '--out',
      out,
      '--engine',
      'onnx',
    ];
    if (withCat) args.push('--catalogue', shared('lastfm', 'id2name.txt'));
    const r = await capture((io) => prior(args, io));
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /prior HR@1 = 36\/122/);
    const rows = readPriorCsv(out);
    assert.equal(rows.length, 122);
    assert.equal(rows.filter((x) => x.generate === x.real).length, 36);
  }
});

test('score/prior usage and input errors exit 2 with a located message and no stack', async (t) => {
  const dir = tempDir(t, 'flowloop-score-');
  const out = join(dir, 'x.jsonl');
  let r = await capture((io) => score(['--model', shared('models', 'afl_lastfm_sasrec'), '--out', out], io));
  assert.equal(r.code, 2);
  assert.match(r.err, /missing --candidates/);
  r = await capture((io) =>
    score(['--model', shared('models', 'afl_lastfm_sasrec'), '--candidates', '/nope/c.jsonl', '--out', out, '--engine', 'torch'], io),
  );
  assert.equal(r.code, 2);
  assert.match(r.err, /--engine must be tfjs or onnx/);
  r = await capture((io) =>
    score(['--model', join(dir, 'missing'), '--candidates', shared('lastfm', 'test_candidates.jsonl'), '--out', out], io),
  );
  assert.equal(r.code, 2);
  assert.match(r.err, /missing: model folder not found/);
  assert.doesNotMatch(r.err, /\n\s+at /);
  // a Steam model (3581 items) cannot score LastFM ids: located at the candidates file
  r = await capture((io) =>
    prior(
      [
        '--model',
        shared('models', 'llara_steam_sasrec'),
        '--candidates',
        shared('lastfm', 'test_candidates.jsonl'),
        '--out',
        join(dir, 'p.csv'),
      ],
      io,
    ),
  );
  assert.equal(r.code, 2, r.err);
  assert.match(r.err, /test_candidates.jsonl: user 0: item id 4044 outside the model's 0\.\.3580/);
  assert.ok(!existsSync(out));
});
