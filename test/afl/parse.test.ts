import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isHit, matchItem, parseRecReply, parseUserReply } from '../../core/afl/parse';

/** The reply parsed, to `value`. */
function parsesTo(parsed: unknown, value: unknown, message?: string): void {
  assert.deepEqual(parsed, { ok: true, value }, message);
}

test('rec reply: exactly one Reason/Item pair; markdown labels accepted in lenient mode', () => {
  parsesTo(parseRecReply('Reason: fits.\nItem: Runner Runner'), { reason: 'fits.', item: 'Runner Runner' });
  parsesTo(parseRecReply('**Reason:** a\nmultiline reason\n**Item:** Woe, Is Me'), { reason: 'a\nmultiline reason', item: 'Woe, Is Me' });
  const none = parseRecReply('I think you will like Runner Runner.');
  assert.equal(none.ok, false);
  const two = parseRecReply('Reason: a\nItem: X\nReason: b\nItem: Y');
  assert.equal(two.ok, false);
  assert.match((two as { error: string }).error, /2 .* pairs/);
  assert.equal(parseRecReply('Reason: a\nItem:   ').ok, false);
});

test('user reply: Reason/Decision yes|no, case-insensitive; anything else fails', () => {
  parsesTo(parseUserReply('Reason: not my style\nDecision: No'), { reason: 'not my style', decision: 'no' });
  parsesTo(parseUserReply('Reason: great\nDecision: **yes**'), { reason: 'great', decision: 'yes' });
  assert.equal(parseUserReply('Reason: hmm\nDecision: maybe').ok, false);
  assert.equal(parseUserReply('yes').ok, false);
});

test('lenient matching is case-insensitive after trimming; strict matches exact names only', () => {
  const cans = ['Runner Runner', 'Woe, Is Me', 'Static-X'];
  assert.deepEqual(matchItem('  runner runner ', cans), { index: 0, name: 'Runner Runner' });
  assert.deepEqual(matchItem('"Woe, Is Me".', cans), { index: 1, name: 'Woe, Is Me' });
  assert.deepEqual(matchItem('Woe', cans), { index: -1, name: 'Woe' }, 'never splits names on commas');
  assert.equal(matchItem('runner runner', cans, 'strict').index, -1);
  assert.equal(matchItem('Runner Runner', cans, 'strict').index, 0);
  assert.equal(isHit(' runner RUNNER ', 'Runner Runner'), true);
  assert.equal(isHit(' runner RUNNER ', 'Runner Runner', 'strict'), false, 'strict = reference: item.lower() == target.lower().strip()');
  assert.equal(isHit('runner runner', 'Runner Runner ', 'strict'), true);
  assert.equal(isHit(null, 'Runner Runner'), false);
});

test('lenient: labels count only at the start of a line; a label mid-line is text', () => {
  parsesTo(parseRecReply('Reason: the item: a classic of the genre.\nItem: Runner Runner'), {
    reason: 'the item: a classic of the genre.',
    item: 'Runner Runner',
  });
  parsesTo(parseUserReply('Reason: my decision: hard, but\n  > Decision: yes'), { reason: 'my decision: hard, but', decision: 'yes' });
  assert.equal(parseRecReply('Reason: similar synth-pop. Item: Runner Runner').ok, false, 'Item: mid-line is not a label');
  assert.equal(parseUserReply('Reason: too soft for me. Decision: no').ok, false);
  assert.equal(parseRecReply('MyReason: x\nItem: Y').ok, false, 'a label glued to a word is not a label');
});

test('strict = the released parsing exactly: findall(r"Reason: (.*?)\\nItem: (.*?)\\n", reply + "\\n", DOTALL), one match, strip; decision startswith yes/no', () => {
  // cases and the released functions' results, worked by hand from the patterns
  parsesTo(parseRecReply('Reason: fits.\nItem: Runner Runner', 'strict'), { reason: 'fits.', item: 'Runner Runner' });
  parsesTo(parseRecReply('Reason:  spaced  \nItem:   X  \ntrailing', 'strict'), { reason: 'spaced', item: 'X' });
  assert.equal(parseRecReply('reason: a\nitem: X', 'strict').ok, false, 'labels are case-sensitive');
  assert.equal(parseRecReply('Reason:a\nItem: X', 'strict').ok, false, 'one space after the colon is part of the pattern');
  assert.equal(parseRecReply('**Reason:** a\n**Item:** X', 'strict').ok, false);
  assert.equal(parseRecReply('Reason: a Item: X', 'strict').ok, false, 'Item must open a line');
  parsesTo(
    parseRecReply('Reason: a\nItem: \nmore', 'strict'),
    { reason: 'a', item: '' },
    'an empty item is what the released code returns',
  );
  assert.equal(parseRecReply('Reason: a\nItem: X\nReason: b\nItem: Y', 'strict').ok, false, 'two matches');
  parsesTo(parseRecReply('Intro\nReason: a\nmultiline\nItem: Woe, Is Me', 'strict'), { reason: 'a\nmultiline', item: 'Woe, Is Me' });
  parsesTo(parseUserReply('Reason: ok\nDecision: Yes, definitely', 'strict'), { reason: 'ok', decision: 'yes' });
  parsesTo(parseUserReply('Reason: ok\nDecision: nope', 'strict'), { reason: 'ok', decision: 'no' }, '"nope".startswith("no")');
  assert.equal(parseUserReply('Reason: ok\nDecision:  yes', 'strict').ok, false, 'the captured " yes" does not start with "yes"');
  assert.equal(parseUserReply('Reason: ok\nDecision: **yes**', 'strict').ok, false);
  assert.equal(parseUserReply('Reason: ok\nDecision: maybe', 'strict').ok, false);
});
