import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isHit, matchItem, parseRecReply, parseUserReply } from '../../core/afl/parse';

test('rec reply: exactly one Reason/Item pair; markdown labels accepted in lenient mode', () => {
  assert.deepEqual(parseRecReply('Reason: fits.\nItem: Runner Runner'), { ok: true, value: { reason: 'fits.', item: 'Runner Runner' } });
  assert.deepEqual(parseRecReply('**Reason:** a\nmultiline reason\n**Item:** Woe, Is Me'), { ok: true, value: { reason: 'a\nmultiline reason', item: 'Woe, Is Me' } });
  const none = parseRecReply('I think you will like Runner Runner.');
  assert.equal(none.ok, false);
  const two = parseRecReply('Reason: a\nItem: X\nReason: b\nItem: Y');
  assert.equal(two.ok, false);
  assert.match((two as { error: string }).error, /2 .* pairs/);
  assert.equal(parseRecReply('Reason: a\nItem:   ').ok, false);
});

test('user reply: Reason/Decision yes|no, case-insensitive; anything else fails', () => {
  assert.deepEqual(parseUserReply('Reason: not my style\nDecision: No'), { ok: true, value: { reason: 'not my style', decision: 'no' } });
  assert.deepEqual(parseUserReply('Reason: great\nDecision: **yes**'), { ok: true, value: { reason: 'great', decision: 'yes' } });
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

test('labels on one line parse too; the reason keeps its text', () => {
  assert.deepEqual(parseRecReply('Reason: similar synth-pop. Item: Runner Runner'), { ok: true, value: { reason: 'similar synth-pop.', item: 'Runner Runner' } });
  assert.deepEqual(parseUserReply('Reason: too soft for me. Decision: no'), { ok: true, value: { reason: 'too soft for me.', decision: 'no' } });
  assert.equal(parseRecReply('MyReason: x\nItem: Y').ok, false, 'a label glued to a word is not a label');
});
