import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { shared } from '../../harness/paths';
import { main } from '../../core/cli/trie';

/** Run main() capturing stderr/stdout lines. */
async function run(argv: string[]): Promise<{ code: number; err: string; out: string }> {
  const err: string[] = [],
    out: string[] = [];
  const e = console.error,
    l = console.log;
  console.error = (...a: unknown[]) => {
    err.push(a.join(' '));
  };
  console.log = (...a: unknown[]) => {
    out.push(a.join(' '));
  };
  try {
    return { code: await main(argv), err: err.join('\n'), out: out.join('\n') };
  } finally {
    console.error = e;
    console.log = l;
  }
}

test('flowloop trie export writes the reference trie for Movies_and_TV; bad input exits 2 with a located message', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'flowloop-trie-'));
  try {
    const out = join(dir, 'trie.json');
    const ok = await run([
      'export',
      '--counts',
      shared('amazon', 'Movies_and_TV', 'title_counts.json'),
      '--tokenizer',
      'qwen2.5',
      '--out',
      out,
    ]);
    assert.equal(ok.code, 0, ok.err);
    const ours = JSON.parse(readFileSync(out, 'utf8'));
    const ref = JSON.parse(readFileSync(shared('amazon', 'Movies_and_TV', 'reference_trie_qwen.json'), 'utf8'));
    assert.deepEqual(Object.keys(ours).sort(), Object.keys(ref).sort());
    let maxDiff = 0;
    for (const k of Object.keys(ref)) for (const c of Object.keys(ref[k])) maxDiff = Math.max(maxDiff, Math.abs(ours[k][c] - ref[k][c]));
    assert.ok(maxDiff <= 1e-9, `max |diff| ${maxDiff}`);

    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '{\n  "A title": "many"\n}\n');
    const r1 = await run(['export', '--counts', bad, '--tokenizer', 'qwen2.5', '--out', join(dir, 'x.json')]);
    assert.equal(r1.code, 2);
    assert.match(r1.err, /bad\.json:2:\d+: reward of "A title" must be a finite number/);
    assert.doesNotMatch(r1.err, /\n\s+at /, 'no stack trace');
    const r2 = await run(['export', '--counts', bad, '--tokenizer', 'nope', '--out', join(dir, 'x.json')]);
    assert.equal(r2.code, 2);
    assert.match(r2.err, /--tokenizer must be one of/);
    const r3 = await run(['export', '--tokenizer', 'char']);
    assert.equal(r3.code, 2);
    assert.match(r3.err, /missing --counts/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
