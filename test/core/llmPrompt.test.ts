/**
 * The released Flower prompt (docs/methods.md §A6b) built with the Qwen2.5 tokenizer: two parts tokenised
 * separately (for this template the Qwen pre-tokenizer splits at the boundary anyway; a user template may not), no BOS, the trailing spaces,
 * "movies and TVs" (sic), target = title + "\n" + EOS, left truncation; user templates.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { shared } from '../../harness/paths';
import { readEvalCsv } from '../../core/data/amazon';
import { loadQwenTokenizer } from '../../core/tokenize/qwen';
import {
  categoryOf,
  checkTemplate,
  completionIds,
  promptIds,
  promptSettings,
  promptText,
  RELEASED_PROMPT,
  truncateLeft,
} from '../../core/llm/prompt';

test('released prompt on a Movies_and_TV row: text, parts tokenised separately, no BOS', () => {
  const tok = loadQwenTokenizer();
  const row = readEvalCsv(shared('amazon', 'Movies_and_TV', 'test.csv'))[0];
  const [p1, p2] = promptText(row.historyTitles, categoryOf('Movies_and_TV'));
  assert.ok(
    p1.startsWith(
      'Below is an instruction that describes a task, paired with an input that provides further context. Write a response that appropriately completes the request. \n\n### Instruction:\nGiven a list of movies and TV the user recently enjoy, please write a new movies and TV that the user may bought\n\n',
    ),
  );
  assert.equal(
    p2,
    `### User Input: \nThe user has enjoyed the following movies and TVs before: ${row.historyTitles.join(', ')}\n\n### Response: \n`,
  );
  const ids = promptIds(tok, row.historyTitles, 'movies and TV');
  assert.deepEqual(ids, [...tok.encode(p1), ...tok.encode(p2)]);
  assert.equal(ids[0], tok.encode('Below')[0], 'no BOS in front');
  assert.deepEqual(tok.encode('### Response: \n').slice(-3), ids.slice(-3), 'the prompt ends with "Response: \\n"');
  const c = completionIds(tok, row.itemTitle);
  assert.deepEqual(c, [...tok.encode(row.itemTitle + '\n'), tok.eosId]);
});

test('left truncation keeps the last tokens of prompt + completion; the completion is never cut', () => {
  const p = [1, 2, 3, 4, 5, 6],
    c = [7, 8, 9];
  assert.deepEqual(truncateLeft(p, c, 5), { prompt: [5, 6], completion: c });
  assert.deepEqual(truncateLeft(p, c, 100), { prompt: p, completion: c });
  assert.throws(() => truncateLeft(p, c, 2), /completion of 3 tokens exceeds the cutoff 2/);
});

test('user templates: fields default to the released ones, unknown placeholders and categories are errors', () => {
  assert.deepEqual(checkTemplate({}), RELEASED_PROMPT);
  const t = checkTemplate({ input: 'Liked: {history}. Next {category}: ' });
  assert.equal(t.instruction, RELEASED_PROMPT.instruction);
  assert.deepEqual(promptText(['A', 'B'], 'films', { ...t, historySeparator: ' | ' })[1], 'Liked: A | B. Next films: ');
  assert.throws(() => checkTemplate({ input: 'x {user}' }), /unknown placeholder \{user\}/);
  assert.deepEqual(promptSettings(undefined, '/data/amazon/CDs_and_Vinyl').category, 'musics');
  assert.deepEqual(promptSettings({ category: 'films' }, '/data/x').category, 'films');
  assert.throws(() => promptSettings({}, '/data/Books_2'), /policy\.prompt\.category: no category word for dataset "Books_2"/);
});
