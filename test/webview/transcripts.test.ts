import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { DialogueTurnEvent } from '../../core/experiment/events';
import { PROTOCOL_VERSION } from '../../webview/contract';
import { fixtureEvents, screenshot } from '../../harness/webviewPage';
import { viewSuite } from './viewSuite';

// Recorded from a real `flowloop run examples/afl-lastfm.flowloop.json` (built-in rule-based agents, prior =
// the published prior_sasrec.csv, recommendation evaluation only), 16 users (see fixtures/makeAflFixture.ts).
const events = fixtureEvents('afl-lastfm-rule-based.events.jsonl');
const turns = events.filter((e): e is DialogueTurnEvent => e.type === 'dialogue-turn');
const started = events.find((e) => e.type === 'run-started')!;
const runs = [{ runId: started.runId, name: (started as { name: string }).name, kind: 'afl' }];
const byUser = new Map<string, DialogueTurnEvent[]>();
for (const t of turns) byUser.set(String(t.user), [...(byUser.get(String(t.user)) ?? []), t]);
const finalHit = (u: string) => [...byUser.get(u)!].reverse().find((t) => t.agent === 'rec')!.hit === true;
const nRounds = (u: string) => Math.max(...byUser.get(u)!.map((t) => t.round));
const views = viewSuite('transcripts');

test('transcripts view lists each user with rounds, hit/miss and the rule-based label', async () => {
  const v = await views.open('transcripts', { height: 900 });
  assert.deepEqual(await v.sent(), [{ type: 'ready', view: 'transcripts', protocol: PROTOCOL_VERSION }]);
  await v.send({ type: 'init', state: { view: 'transcripts', runs, turns } });
  await v.page.waitForFunction((n) => document.body.dataset.turns === String(n), turns.length);
  assert.equal(await v.page.locator('details.user').count(), byUser.size);
  const hits = [...byUser.keys()].filter(finalHit).length;
  assert.equal(await v.page.locator('details.user[data-outcome="hit"]').count(), hits);
  assert.match((await v.page.locator('#rule-banner').textContent()) ?? '', /rule-based, not an LLM/);
  // open a multi-round user: every round shows a rec message and (if present) a user decision with reasons
  const multi = [...byUser.keys()].find((u) => nRounds(u) > 1)!;
  const card = v.page.locator(`details.user[data-user="${multi}"]`);
  await card.locator('summary').click();
  // the rounds render when the card opens: wait for them rather than racing the first paint
  await card
    .locator('.round')
    .nth(nRounds(multi) - 1)
    .waitFor({ timeout: 10_000 });
  assert.equal(await card.locator('.round').count(), nRounds(multi));
  assert.equal(await card.locator('.msg.rec').count(), byUser.get(multi)!.filter((t) => t.agent === 'rec').length);
  const firstUserTurn = byUser.get(multi)!.find((t) => t.agent === 'user')!;
  assert.match((await card.locator('.msg.user .decision').first().textContent()) ?? '', new RegExp(`Decision: ${firstUserTurn.decision}`));
  assert.equal(await card.locator('.cand').count(), firstUserTurn.candidates?.length ?? 20);
  assert.equal(await card.locator('.cand.target').textContent(), byUser.get(multi)![0].target);
  assert.ok((await card.locator('span.tag.rule-based').count()) >= 2, 'each rule-based turn carries the label');
  assert.deepEqual(((await v.state()) as { open: string[] }).open.length, 1);
  await screenshot(v.page, 'transcripts');
  assert.deepEqual(await v.problems(), []);
  await v.page.close();
});

test('transcripts view filters by outcome and round count, shows raw prompts, and restores its filters', async () => {
  const v = await views.open('transcripts', {
    savedState: { outcome: 'miss', rounds: 0, search: '', raw: false, open: [] },
  });
  await v.send({ type: 'init', state: { view: 'transcripts', runs, turns } });
  await v.page.waitForFunction((n) => document.body.dataset.turns === String(n), turns.length);
  const misses = [...byUser.keys()].filter((u) => !finalHit(u));
  assert.equal(await v.page.locator('details.user').count(), misses.length, 'restored outcome filter "miss"');
  // rounds = 1 via the dropdown (outcome still "miss")
  await v.page.locator('#rounds').click();
  await v.page.locator('#rounds vscode-option[value="1"]').click();
  const want = misses.filter((u) => nRounds(u) === 1).length;
  await v.page.waitForFunction((n) => document.querySelectorAll('details.user').length === n, want);
  assert.equal(((await v.state()) as { rounds: number }).rounds, 1);
  // raw toggle shows prompt and response of each turn
  await v.page.locator('#raw').click();
  await v.page.locator('details.user summary').first().click();
  const raw = await v.page.locator('details.user .raw-prompt').first().textContent();
  assert.match(raw ?? '', /rule-based, not an LLM: no prompt is sent/);
  // increments: a new turn for a new user appears without re-init
  const extra: DialogueTurnEvent = { ...turns[0], user: 'new-user', round: 1, hit: false };
  await v.send({ type: 'events', events: [extra] });
  await v.page.waitForSelector('details.user[data-user="new-user"]');
  assert.deepEqual(await v.problems(), []);
  await v.page.close();
});

test('transcripts view shows LLM turns without the rule-based label, with raw prompts and parse errors', async () => {
  // a real loop run with agents "llm" against a scripted local server (replies scripted, not a language
  // model; see fixtures/makeLlmTranscriptFixture.ts), one malformed reply on purpose
  const llm = fixtureEvents('afl-lastfm-scripted-llm.events.jsonl').filter((e): e is DialogueTurnEvent => e.type === 'dialogue-turn');
  assert.ok(llm.every((t) => t.agentKind === 'llm'));
  const failed = llm.find((t) => t.errors?.length)!;
  const v = await views.open('transcripts', {
    savedState: { outcome: 'all', rounds: 0, search: '', raw: true, open: [`${failed.runId}\u0000${failed.user}`] },
  });
  await v.send({ type: 'init', state: { view: 'transcripts', runs: [], turns: llm } });
  await v.page.waitForFunction((n) => document.body.dataset.turns === String(n), llm.length);
  assert.equal(await v.page.locator('span.tag.rule-based').count(), 0);
  assert.equal(await v.page.locator('#rule-banner.hidden').count(), 1);
  const card = v.page.locator(`details.user[data-user="${failed.user}"]`);
  assert.equal(await card.getAttribute('open'), '', 'restored open card');
  assert.match((await card.locator('summary .badge.warn').textContent()) ?? '', /1 error/);
  assert.equal(await card.locator('.errors li').first().textContent(), failed.errors![0]);
  const prompt = await card.locator('.raw-prompt').first().textContent();
  assert.equal(prompt, llm.find((t) => t.user === failed.user && t.round === 1 && t.agent === 'rec')!.prompt);
  assert.match(prompt ?? '', /You are a music artist recommendation system/);
  assert.deepEqual(await v.problems(), []);
  await v.page.close();
});
