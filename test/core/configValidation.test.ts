import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../../harness/paths';
import { formatIssue, validateConfigFile, validateConfigText } from '../../core/experiment/validate';

const BAD = join(ROOT, 'test', 'fixtures', 'configs', 'bad');
const expected: Record<string, { line: number; message: string }> = JSON.parse(
  readFileSync(join(ROOT, 'test', 'fixtures', 'configs', 'expected-errors.json'), 'utf8'),
);
const CLI = ['--import', 'tsx', join(ROOT, 'core', 'cli.ts')];

test('the malformed-config corpus holds at least 30 files, each with an expectation', () => {
  const files = readdirSync(BAD).filter((f) => f.endsWith('.json'));
  assert.ok(files.length >= 30, `only ${files.length} malformed configs`);
  assert.deepEqual(files.sort(), Object.keys(expected).sort(), 'every corpus file needs an entry in expected-errors.json');
});

for (const [file, exp] of Object.entries(expected)) {
  test(`malformed config ${file}: located error at line ${exp.line} mentioning "${exp.message}"`, () => {
    const r = validateConfigFile(join(BAD, file));
    assert.ok(r.errors.length > 0, `${file} was accepted`);
    const lines = r.errors.map((e) => formatIssue(file, e));
    const hit = r.errors.find((e) => e.message.includes(exp.message));
    assert.ok(hit, `no error mentions "${exp.message}"; got:\n${lines.join('\n')}`);
    assert.equal(hit!.line, exp.line, `wrong line; got:\n${lines.join('\n')}`);
    for (const e of r.errors) assert.ok(e.line >= 1 && e.col >= 1, `unlocated: ${formatIssue(file, e)}`);
  });
}

test('a 5 MB config is refused before parsing with a located message', () => {
  const dir = mkdtempSync(join(tmpdir(), 'flowloop-big-'));
  const f = join(dir, 'big.flowloop.json');
  writeFileSync(f, JSON.stringify({ kind: 'flower', description: 'x'.repeat(5 * 1024 * 1024) }));
  const r = validateConfigFile(f);
  assert.equal(r.errors.length, 1);
  assert.match(r.errors[0].message, /5\.0 MB/);
  assert.equal(r.errors[0].line, 1);
});

test('an unknown key is underlined on the key itself, with its JSON path', () => {
  const text = '{\n  "kind": "flower",\n    "epochz": 3\n}\n';
  const r = validateConfigText(text, join(ROOT, 'x.flowloop.json'));
  assert.equal(r.errors.length, 1, JSON.stringify(r.errors));
  const e = r.errors[0];
  assert.deepEqual({ line: e.line, col: e.col, path: e.path }, { line: 3, col: 5, path: '/epochz' });
  assert.equal(text.slice(e.offset, e.offset + e.length), '"epochz"');
});

test('schema defaults are filled into a valid config (seed, device)', () => {
  const r = validateConfigText(
    '{ "kind": "flower", "mode": "distribution", "titles": "examples/rq1/select_100_Movies.json" }',
    join(ROOT, 'x.flowloop.json'),
  );
  assert.deepEqual(r.errors, []);
  assert.equal(r.config!.seed, 42);
  assert.equal(r.config!.device, 'auto');
});

test('flowloop validate: exit 2 and one file:line:col message per malformed config, no stack trace', () => {
  const files = Object.keys(expected).map((f) => join(BAD, f));
  const r = spawnSync(process.execPath, [...CLI, 'validate', ...files], { encoding: 'utf8', cwd: ROOT });
  assert.equal(r.status, 2, r.stderr);
  for (const f of files)
    assert.match(r.stdout, new RegExp(`${f.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\\d+:\\d+: `), `no located message for ${f}`);
  assert.doesNotMatch(r.stdout + r.stderr, /\n\s+at .*\(.*:\d+:\d+\)/, 'a stack trace was printed');
});

test('a misspelt key gets "did you mean" (warmupStep → warmupSteps, case slips too); a foreign key gets none', () => {
  const demo = JSON.parse(readFileSync(join(ROOT, 'examples', 'rq1', 'demo.flowloop.json'), 'utf8'));
  const { warmupSteps, ...rest } = demo;
  const text = JSON.stringify({ ...rest, warmupStep: warmupSteps, BatchSize: 8, zzzUnrelated: 1 }, null, 2);
  const r = validateConfigText(text, join(ROOT, 'examples', 'rq1', 'demo.flowloop.json'));
  const msgs = r.errors.map((e) => e.message);
  assert.ok(
    msgs.some((m) => /unknown key "warmupStep".*did you mean "warmupSteps"\?/.test(m)),
    msgs.join('\n'),
  );
  assert.ok(
    msgs.some((m) => /unknown key "BatchSize".*did you mean "batchSize"\?/.test(m)),
    msgs.join('\n'),
  );
  assert.ok(
    msgs.some((m) => /unknown key "zzzUnrelated" in the config$/.test(m)),
    msgs.join('\n'),
  );
});

test('problems of different stages come at once: a stray comma, a schema error and a missing folder in one pass, in file order', () => {
  const dir = mkdtempSync(join(tmpdir(), 'flowloop-stages-'));
  const file = join(dir, 'x.flowloop.json');
  const text = '{\n  "kind": "sequential",\n  "dataset": "./no-such-folder",\n  "epochs": 0,\n}\n';
  writeFileSync(file, text);
  const r = validateConfigText(text, file);
  const lines = r.errors.map((e) => formatIssue('x.flowloop.json', e));
  assert.equal(r.errors.length, 3, lines.join('\n'));
  assert.match(lines[0], /x\.flowloop\.json:3:.*folder not found: \.\/no-such-folder/);
  assert.match(lines[1], /x\.flowloop\.json:4:.*"epochs" must be >= 1/);
  assert.match(lines[2], /x\.flowloop\.json:4:.*invalid JSON: a comma before the closing bracket/);
});
