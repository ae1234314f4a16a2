import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { shared } from '../../harness/paths';
import { loadTokenizer } from '../../core/tokenize';
import { bpeMerge, mergeRanks } from '../../core/tokenize/bpeMerge';
import { qwenTokenizerDir } from '../../core/tokenize/qwen';
import { readRewardFile } from '../../core/trie';
import { PolicyVocab } from '../../core/tokenize/policyVocab';
import { PrefixTree } from '../../core/trie';

test('qwen2.5: reference ids (no BOS, "\\n" = 198, eos 151643), loaded once', () => {
  const tok = loadTokenizer('qwen2.5');
  assert.equal(loadTokenizer('qwen2.5'), tok, 'second load returns the cached instance');
  assert.deepEqual(tok.encode('Blade Runner'), [4923, 1021, 44946]);
  assert.deepEqual(tok.encode('Blade Runner\n'), [4923, 1021, 44946, 198]);
  assert.equal(tok.terminalId, 198);
  assert.equal(tok.eosId, 151643);
  assert.equal(tok.decode([4923, 1021, 44946, 198]), 'Blade Runner\n');
  assert.ok(tok.vocabSize > 151643);
});

test('qwen2.5: first tokens of the RQ1 titles equal the reference token tree keys', () => {
  const tok = loadTokenizer('qwen2.5');
  const titles = Object.keys(JSON.parse(readFileSync(shared('movies_rq1', 'select_100_Movies.json'), 'utf8')));
  const ref = JSON.parse(readFileSync(shared('movies_rq1', 'Movies_100_token_distri_qwen2.5.json'), 'utf8'));
  const firsts = new Set(titles.map((t) => String(tok.encode(t)[0])));
  assert.deepEqual([...firsts].sort(), Object.keys(ref.first).sort());
});

/** The library's tokenizer exactly as it ships (its own BPE merge), for comparison with loadTokenizer('qwen2.5'). */
function libraryQwen(): { encode(t: string, o: { add_special_tokens: boolean }): number[] } {
  const json = (f: string) => JSON.parse(readFileSync(join(qwenTokenizerDir(), f), 'utf8')) as unknown;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { TokenizerLoader } = require('@lenml/tokenizers') as {
    TokenizerLoader: { fromPreTrained(p: { tokenizerJSON: unknown; tokenizerConfig: unknown }): unknown };
  };
  return TokenizerLoader.fromPreTrained({ tokenizerJSON: json('tokenizer.json'), tokenizerConfig: json('tokenizer_config.json') }) as {
    encode(t: string, o: { add_special_tokens: boolean }): number[];
  };
}

test("qwen2.5: the fast BPE merge gives the library's ids for every title of the three Amazon datasets and random text", () => {
  const ours = loadTokenizer('qwen2.5');
  const lib = libraryQwen();
  const texts: string[] = [];
  for (const name of ['CDs_and_Vinyl', 'Video_Games', 'Movies_and_TV'])
    texts.push(...readRewardFile(shared('amazon', name, 'title_counts.json')).titles.map((t) => t + '\n'));
  // random text over letters (accented, Greek, CJK), digits, punctuation, contractions, whitespace runs and emoji
  const pieces = [
    'a',
    'E',
    'é',
    'ß',
    'ſ',
    'Ω',
    '東京',
    '1',
    '9',
    '.',
    '!!',
    '—',
    "'s",
    "'LL",
    "'d",
    ' ',
    '   ',
    '\t',
    '\n',
    '\r\n',
    '🙂',
    'the',
    'ing',
  ];
  let seed = 12345;
  const rand = (n: number) => (seed = (seed * 1103515245 + 12345) % 2147483648) % n;
  for (let i = 0; i < 500; i++) texts.push(Array.from({ length: 1 + rand(30) }, () => pieces[rand(pieces.length)]).join(''));
  let differ = 0;
  const firstDiffs: string[] = [];
  for (const t of texts) {
    const a = ours.encode(t);
    const b = lib.encode(t, { add_special_tokens: false });
    if (a.join() !== b.join()) {
      differ++;
      if (firstDiffs.length < 3) firstDiffs.push(`${JSON.stringify(t)}: ours ${a.join(',')} vs library ${b.join(',')}`);
    }
  }
  assert.ok(texts.length > 11_000, `compared ${texts.length} texts`);
  assert.equal(differ, 0, `texts whose ids differ (of ${texts.length}):\n${firstDiffs.join('\n')}`);
});

test('bpeMerge: lowest rank first, leftmost on a tie, stops when no adjacent pair is a merge', () => {
  const ranks = mergeRanks([
    ['a', 'b'],
    ['b', 'c'],
    ['ab', 'c'],
    ['c', 'c'],
  ]);
  assert.deepEqual(bpeMerge('abc', ranks), ['abc']); // a+b (rank 0) before b+c (rank 1), then ab+c
  assert.deepEqual(bpeMerge('bcc', ranks), ['bc', 'c']); // b+c (1) before c+c (3); bc+c is no merge
  assert.deepEqual(bpeMerge('cccc', ranks), ['cc', 'cc']); // the leftmost tie first
  assert.deepEqual(bpeMerge('xyz', ranks), ['x', 'y', 'z']);
  assert.deepEqual(bpeMerge('', ranks), []);
});

test('char and word tokenizers round-trip corpus text and map "\\n" to their terminal', () => {
  const corpus = ['Blade Runner', 'Blade Runner: The Final Cut', 'Aladdin (1992)'];
  for (const name of ['char', 'word'] as const) {
    const tok = loadTokenizer(name, corpus);
    for (const t of corpus) assert.equal(tok.decode(tok.encode(t)), t, `${name} round trip of ${t}`);
    const ids = tok.encode('Aladdin\n');
    assert.equal(ids[ids.length - 1], tok.terminalId);
    assert.notEqual(tok.eosId, tok.terminalId);
    assert.ok(tok.encode('Zz').includes(2), `${name}: unseen text maps to <unk>`);
  }
  const w = loadTokenizer('word', corpus);
  assert.deepEqual(
    w.encode('Blade Runner: The').map((i) => w.decode([i])),
    ['Blade', ' Runner', ':', ' The'],
  );
  assert.throws(() => loadTokenizer('char'), /corpus/);
});

test('PolicyVocab: trie tokens + terminal + pad/bos, both directions', () => {
  const tok = loadTokenizer('word', ['a b', 'a c']);
  const trie = PrefixTree.build(['a b', 'a c'], [1, 2], tok);
  const v = PolicyVocab.fromTrie(trie, tok);
  const edgeTokens = new Set(Array.from(trie.token).filter((t) => t >= 0));
  assert.equal(v.size, edgeTokens.size + 2);
  assert.equal(v.pad, 0);
  assert.equal(v.bos, 1);
  assert.equal(v.toTokenizer(v.terminal), tok.terminalId);
  for (const t of edgeTokens) assert.equal(v.toTokenizer(v.toPolicy(t)), t);
  for (let p = 2; p < v.size; p++) assert.equal(v.toPolicy(v.toTokenizer(p)), p);
  assert.equal(v.toPolicy(tok.eosId), -1);
  assert.equal(v.toTokenizer(0), -1);
  assert.deepEqual(v.decode(v.encode(trie.tokens(1))), trie.tokens(1));
  const back = PolicyVocab.fromJSON(JSON.parse(JSON.stringify(v)));
  assert.deepEqual(Array.from(back.tokenizerIds), Array.from(v.tokenizerIds));
  assert.equal(back.terminal, v.terminal);
});
