/** Readers of the AFL datasets (LastFM, Steam, MovieLens): counts of ../shared/data/README.md, names, errors. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { shared } from '../../harness/paths';
import { loadSeqDataset, readId2Name, readSeqSplit } from '../../core/data/sequential';
import { readMovielensItems, movielensName } from '../../core/data/movielens';
import {
  readCandidates,
  readPriorCsv,
  readPromptsReleased,
  readUserSimSamples,
  readUserSimUsers,
  slotCount,
} from '../../core/data/candidates';
import { LocatedError } from '../../core/data/lines';

test('LastFM: 4,606 artists, train 50,800 windows, val 122, test 122, unpadded oldest-first sequences', () => {
  const d = loadSeqDataset(shared('lastfm'), 'lastfm');
  assert.equal(d.catalogue.size, 4606);
  assert.equal(d.padId, 4606);
  assert.equal(d.train?.length, 50800);
  assert.equal(d.val?.length, 122);
  assert.equal(d.test.length, 122);
  assert.deepEqual(d.test[0], { row: 0, seq: [392, 225, 234, 576, 577, 272], next: 578 });
  // the reference's empty-history windows (all pads, len_seq 1) become empty sequences
  assert.deepEqual(d.train![0], { row: 0, seq: [], next: 0 });
  assert.equal(d.train!.filter((r) => r.seq.length === 0).length, 976);
  assert.ok(d.train!.every((r) => !r.seq.includes(4606)));
  assert.equal(d.catalogue.titleOf(2), 'Café Del Mar');
});

test('Steam: 3,581 games, val/test 1,194 rows, 1,186 candidate users, each a window of test.jsonl', () => {
  const d = loadSeqDataset(shared('steam'), 'steam');
  assert.equal(d.catalogue.size, 3581);
  assert.equal(d.train, undefined);
  assert.equal(d.val?.length, 1194);
  assert.equal(d.test.length, 1194);
  // name split at the FIRST '::' only; the released code truncated it (naming 'reference')
  assert.equal(d.catalogue.titleOf(354), 'Depths of Fear :: Knossos');
  const ref = loadSeqDataset(shared('steam'), 'steam', { naming: 'reference' }).catalogue;
  assert.equal(ref.titleOf(354), 'Depths of Fear');
  const c = readCandidates(d.candidatesFile!);
  assert.equal(c.length, 1186);
  // the candidate users are test windows (a subset, in another order: id ≠ test row)
  const windows = new Set(d.test.map((t) => `${t.seq.join(',')}>${t.next}`));
  for (const r of c) {
    assert.ok(windows.has(`${r.seq.join(',')}>${r.next}`), `candidate user ${r.id} is not a test.jsonl window`);
    assert.equal(r.cans.length, 20);
    r.cans.forEach((id, i) => assert.equal(ref.titleOf(id), r.cansNames[i], `row ${r.id} candidate ${i}`));
    r.cans.forEach((id, i) => {
      if (id !== 354) assert.equal(d.catalogue.titleOf(id), r.cansNames[i]);
    });
  }
});

test('LastFM candidates: 122 users, 20 candidates, names match id2name, SASRec top-1 = argmax of its scores', () => {
  const d = loadSeqDataset(shared('lastfm'), 'lastfm');
  const c = readCandidates(shared('lastfm', 'test_candidates.jsonl'));
  assert.equal(c.length, 122);
  for (const r of c) {
    assert.equal(r.cans.length, 20);
    assert.equal(r.sasrecEvalScores?.length, 20);
    r.cans.forEach((id, i) => assert.equal(d.catalogue.titleOf(id), r.cansNames[i]));
    r.seq.forEach((id, i) => assert.equal(d.catalogue.titleOf(id), r.seqNames[i]));
    const s = r.sasrecEvalScores!;
    assert.equal(r.sasrecEvalTop1, r.cansNames[s.indexOf(Math.max(...s))]);
    assert.equal(r.sasrecEvalFocusTopQuarter?.length, 5);
  }
});

test('prior CSVs: LastFM prior_sasrec has 122 rows with HR@1 = 34/122 (docs/methods.md §B3); quoted names with commas', () => {
  const p = readPriorCsv(shared('lastfm', 'prior_sasrec.csv'));
  assert.equal(p.length, 122);
  assert.equal(p.filter((r) => r.generate === r.real).length, 34);
  const c = readCandidates(shared('lastfm', 'test_candidates.jsonl'));
  p.forEach((r, i) => {
    assert.equal(r.id, i);
    assert.equal(r.real, c[i].correctAnswer);
    assert.equal(r.generate, c[i].priorAnswer);
  });
  const u = readPriorCsv(shared('lastfm', 'user_sim', 'prior_sasrec_1_1.csv'));
  assert.equal(u.length, 60);
  assert.deepEqual(u[35], { id: 35, generate: 'Woe, Is Me', real: 'Woe, Is Me' });
});

test('user simulation: 60 users per ratio with 10/10, 5/15, 2/18 positives/negatives (docs/methods.md §B4)', () => {
  const users = readUserSimUsers(shared('lastfm', 'user_sim', 'test_users.jsonl'));
  assert.equal(users.length, 60);
  for (const [ratio, pos] of [
    ['1_1', 10],
    ['1_3', 5],
    ['1_9', 2],
  ] as const) {
    const s = readUserSimSamples(shared('lastfm', 'user_sim', `samples_${ratio}.jsonl`));
    assert.equal(s.length, 60, ratio);
    s.forEach((x, i) => {
      assert.equal(x.userId, users[i].userId);
      assert.equal(x.evalCans.length, 20);
      assert.equal(
        x.label.reduce((a, b) => a + b, 0),
        pos,
        `${ratio} user ${i}`,
      );
      // positives are the user's real future items
      x.evalCans.forEach((id, k) => assert.equal(x.predList.includes(id), x.label[k] === 1));
    });
  }
});

test('prompts_released.json: every listed template has as many {} slots as arguments', () => {
  const p = readPromptsReleased(shared('lastfm', 'prompts_released.json'));
  assert.ok(p.loop.rec_system_prompt.startsWith('You are a music artist recommendation system.'));
  assert.equal(Object.keys(p.arguments).length, 13);
  assert.equal(slotCount(p.loop.rec_user_prompt), 4);
  assert.equal(p.arguments['loop.rec_user_prompt'].length, 4);
});

test('MovieLens: u.item ISO-8859-1, 1,682 movies, val 94 / test 95 rows, 95 candidate users, ratings kept', () => {
  const d = loadSeqDataset(shared('movielens'), 'movielens');
  assert.equal(d.catalogue.size, 1682);
  assert.equal(d.val?.length, 94);
  assert.equal(d.test.length, 95);
  assert.equal(d.test[0].seq.length, d.test[0].ratings?.length);
  assert.equal(d.test[0].next, 3);
  assert.equal(d.catalogue.titleOf(3), 'Get Shorty'); // u.item id 4, split id 3
  const items = readMovielensItems(shared('movielens', 'u.item'));
  assert.equal(items.find((i) => i.itemId === 543)?.rawTitle, 'Misérables, Les (1995)'); // decoded as Latin-1
  assert.equal(readCandidates(d.candidatesFile!).length, 95);
});

test('MovieLens naming: docs/methods.md §B7 rule; the "reference" rule reproduces every released candidate name', () => {
  assert.equal(movielensName('Toy Story (1995)'), 'Toy Story');
  assert.equal(movielensName('Affair to Remember, An (1957)'), 'An Affair to Remember');
  assert.equal(movielensName('Good, The Bad and The Ugly, The (1966)'), 'The Good, The Bad and The Ugly');
  assert.equal(movielensName("Star Maker, The (Uomo delle stelle, L') (1995)"), "The Star Maker (Uomo delle stelle, L')");
  assert.equal(movielensName('Two Friends (1986) '), 'Two Friends');
  assert.equal(
    movielensName('Land Before Time III: The Time of the Great Giving (1995) (V)'),
    'Land Before Time III: The Time of the Great Giving (V)',
  );
  assert.equal(movielensName('Misérables, Les (1995)'), 'Misérables, Les'); // only The/A/An move
  assert.equal(movielensName('Affair to Remember, An (1957)', 'reference'), 'A Affair to Remembern');
  const ref = loadSeqDataset(shared('movielens'), 'movielens', { naming: 'reference' }).catalogue;
  const fixed = loadSeqDataset(shared('movielens'), 'movielens').catalogue;
  const seen = new Map<number, string>();
  for (const r of readCandidates(shared('movielens', 'test_candidates.jsonl'))) {
    r.cans.forEach((id, i) => seen.set(id, r.cansNames[i]));
    r.seq.forEach((id, i) => seen.set(id, r.seqNames[i]));
  }
  assert.ok(seen.size > 1000);
  const differ: number[] = [];
  for (const [id, name] of seen) {
    assert.equal(ref.titleOf(id), name, `reference naming of id ${id}`);
    if (fixed.titleOf(id) !== name) differ.push(id);
  }
  // exactly the reference quirks docs/methods.md §B7 fixes: ", The" deleted everywhere (176), ", An" → "A …n"
  // (435, 601, 965, 1226), trailing spaces (1200, 1634), "(1995) (V)" cut to "(19" (1411)
  assert.deepEqual(
    differ.sort((a, b) => a - b),
    [176, 435, 601, 965, 1200, 1226, 1411, 1634],
  );
  assert.equal(fixed.titleOf(176), 'The Good, The Bad and The Ugly');
  assert.equal(ref.titleOf(176), 'The Good Bad and The Ugly');
});

function tmp(name: string, text: string | Buffer): string {
  const dir = mkdtempSync(join(tmpdir(), 'flowloop-data-'));
  const f = join(dir, name);
  writeFileSync(f, text);
  return f;
}

function throwsAt(fn: () => unknown, file: string, line: number, re: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof LocatedError, `expected LocatedError, got ${String(e)}`);
    assert.equal(e.where, `${file}:${line}`);
    assert.match(e.message, re);
    return true;
  });
}

test('corrupt rows are LocatedErrors naming file:line', () => {
  let f = tmp('id2name.txt', '0::A\n1::B\nnot a row\n');
  throwsAt(() => readId2Name(f), f, 3, /id::name/);
  f = tmp('id2name.txt', '0::A\n0::B\n');
  throwsAt(() => readId2Name(f), f, 2, /duplicate item id 0/);
  f = tmp('test.jsonl', '{"row":0,"seq":[1,2,9,9],"len_seq":2,"next":3}\n{"row":1,"seq":[1,\n');
  throwsAt(() => readSeqSplit(f, 9), f, 2, /invalid JSON/);
  f = tmp('test.jsonl', '{"row":0,"seq":[1,9,2,9],"len_seq":2,"next":3}\n');
  throwsAt(() => readSeqSplit(f, 9), f, 1, /after padding/);
  f = tmp('test.jsonl', '\n{"row":0,"seq":[1,2,9,9],"len_seq":2,"next":12}\n');
  throwsAt(() => readSeqSplit(f, 9), f, 2, /outside 0\.\.8/);
  f = tmp(
    'c.jsonl',
    '{"id":0,"seq":[1],"seq_unpad":[1],"seq_names":["a"],"next":5,"correct_answer":"e","cans":[2,3],"cans_names":["b","c"]}\n',
  );
  throwsAt(() => readCandidates(f), f, 1, /not among the candidates/);
  f = tmp('p.csv', 'id,generate,real\n0,a,b\n1,"unterminated,b\n');
  assert.throws(
    () => readPriorCsv(f),
    (e: unknown) => e instanceof LocatedError && e.where.startsWith(f) && /invalid CSV/.test(e.message),
  );
  f = tmp('p.csv', 'id,generate,real\n0,a,b\n1,a\n');
  throwsAt(() => readPriorCsv(f), f, 3, /expected 3 fields, got 2/);
  f = tmp('p.csv', 'id,generate,real\n0,"multi\nline",b\n1,a\n');
  throwsAt(() => readPriorCsv(f), f, 4, /expected 3 fields/); // line numbers count the newline inside the quoted cell
  f = tmp('p.csv', 'id,generate,real\n0,a,b\nx,"a, b",c\n');
  throwsAt(() => readPriorCsv(f), f, 3, /bad id/);
  f = tmp(
    'u.item',
    Buffer.from('1|Toy Story (1995)|01-Jan-1995||url|0|0|0|1|1|1|0|0|0|0|0|0|0|0|0|0|0|0|0\n2|Mis\xe9rables, Les (1995)|x\n', 'latin1'),
  );
  throwsAt(() => readMovielensItems(f), f, 2, /24/);
  f = tmp('prompts.json', JSON.stringify({ loop: { a: 'x {} {}' }, user_simulation: {}, arguments: { 'loop.a': ['one'] } }));
  assert.throws(
    () => readPromptsReleased(f),
    (e: unknown) => e instanceof LocatedError && e.path === '$.arguments.loop.a',
  );
});
