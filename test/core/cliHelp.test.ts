import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { main } from '../../core/cli';
import { COMMAND_SPECS, commandUsage } from '../../core/cli/commands';
import { TOKENIZER_NAMES } from '../../core/tokenize';
import { ROOT } from '../../harness/paths';

/** Run the CLI's main in-process, capturing stdout and stderr (console.* included). */
async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const w = process.stdout.write,
    e = process.stderr.write;
  // strings are the CLI's; buffers are the test runner's own messages (node --test), passed through
  process.stdout.write = ((s: string | Uint8Array, ...rest: any[]) =>
    typeof s === 'string' ? (out.push(s), true) : w.call(process.stdout, s, ...rest)) as typeof process.stdout.write;
  process.stderr.write = ((s: string | Uint8Array, ...rest: any[]) =>
    typeof s === 'string' ? (err.push(s), true) : e.call(process.stderr, s, ...rest)) as typeof process.stderr.write;
  try {
    return { code: await main(argv), out: out.join(''), err: err.join('') };
  } finally {
    process.stdout.write = w;
    process.stderr.write = e;
  }
}

const flagsOf = (name: string) => Object.keys(COMMAND_SPECS.find((c) => c.name === name)!.flags);

test('flowloop --help lists every command with every flag it accepts (run --dir, demo --set included)', async () => {
  const r = await run(['--help']);
  assert.equal(r.code, 0);
  for (const c of COMMAND_SPECS) {
    const line = r.out.split('\n').find((l) => l.startsWith(`  flowloop ${c.name} `) || l === `  flowloop ${c.name}`);
    assert.ok(line, `no usage line for ${c.name} in:\n${r.out}`);
    for (const f of Object.keys(c.flags)) assert.ok(line.includes(`--${f}`), `${c.name}: --${f} missing from "${line}"`);
  }
  assert.ok(flagsOf('run').includes('dir') && flagsOf('demo').includes('set'), "the audit's two flags are in the table");
});

test("flowloop <command> --help (and help <command>) prints that command's flags, each accepted by its parser", async () => {
  for (const c of COMMAND_SPECS) {
    const h = await run([c.name, '--help']);
    assert.equal(h.code, 0, `${c.name} --help: ${h.out}${h.err}`);
    assert.ok(h.out.includes(`usage: flowloop ${c.name}`), `${c.name} --help printed:\n${h.out}${h.err}`);
    for (const f of Object.keys(c.flags))
      assert.match(h.out, new RegExp(`^  --${f}\\b.*\\S`, 'm'), `${c.name} --help does not describe --${f}:\n${h.out}`);
    assert.equal((await run(['help', c.name])).out, commandUsage(c.name) + '\n');
    // every listed flag parses (then --help stops the command); an unlisted one is refused
    for (const [f, spec] of Object.entries(c.flags)) {
      const r = await run([c.name, ...(spec.type === 'boolean' ? [`--${f}`] : [`--${f}`, 'v']), '--help']);
      assert.equal(r.code, 0, `${c.name} --${f}: ${r.out}${r.err}`);
    }
    const bad = await run([c.name, '--no-such-flag', 'v', '--help']);
    assert.equal(bad.code, 2, `${c.name} accepted --no-such-flag: ${bad.out}${bad.err}`);
    assert.match(bad.out + bad.err, /unknown option --no-such-flag/);
  }
  assert.ok(
    TOKENIZER_NAMES.every((t) => commandUsage('trie').includes(t)),
    `trie help names ${TOKENIZER_NAMES}`,
  );
});

test('every flag the CLI sources read is in the command table (no parser outside it)', () => {
  const files = [
    'core/cli.ts',
    ...readdirSync(join(ROOT, 'core', 'cli'))
      .filter((f) => f.endsWith('.ts'))
      .map((f) => `core/cli/${f}`),
  ];
  const all = new Set(COMMAND_SPECS.flatMap((c) => Object.keys(c.flags)));
  all.add('help');
  const read: string[] = [];
  for (const f of files) {
    const src = readFileSync(join(ROOT, f), 'utf8');
    if (f.endsWith('/args.ts') || f.endsWith('/commands.ts')) continue; // the parser and the table themselves
    assert.doesNotMatch(src, /\bparseArgs\(/, `${f} parses its own arguments; use parseCommandArgs(<command>, argv)`);
    assert.doesNotMatch(src, /from 'node:util'.*parseArgs|parseArgs.*from 'node:util'/, f);
    for (const m of src.matchAll(/\b(?:flags|lists|values)(?:\.([A-Za-z]\w*)|\[['"]([\w-]+)['"]\])/g)) read.push(`${f}: ${m[1] ?? m[2]}`);
    for (const m of src.matchAll(/missing --([\w-]+)|`--([\w-]+)/g)) read.push(`${f}: ${m[1] ?? m[2]}`);
    for (const m of src.matchAll(/opts\[['"]([\w-]+)['"]\]/g)) read.push(`${f}: ${m[1]}`);
  }
  assert.ok(read.length > 20, `found only ${read.length} flag reads: the scan is broken`);
  const unknown = read.filter((r) => !all.has(r.split(': ')[1]));
  assert.deepEqual(unknown, [], 'flags read in the code but not in the table');
});
