/**
 * Replication mode, byte for byte (docs/methods.md §B5): a released-mode run (pack "released", matching
 * "strict", userMemoryInLoop false) of the user-simulation evaluation over real HTTP, 5 users at every
 * ratio. Every step-1 and step-2 request the server receives is compared with the released templates
 * (prompts_released.json, read here as raw `{}` strings) formatted by the released rules: Python
 * `str.format` fills the slots in the order of `arguments`, memories joined by "\n", an accepted round
 * written with `user_build_memory` and the user's reason, scores as Python writes floats (here: the
 * number's own text in the samples file, written by Python's json).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runAflExperiment } from '../../core/afl/experiment';
import { lastfmAfl, makeContext } from '../../harness/aflContext';
import { startServer, type ChatRequest } from '../../harness/llmServer';
import { ROOT, shared } from '../../harness/paths';

const REL = JSON.parse(readFileSync(shared('lastfm', 'prompts_released.json'), 'utf8'));
const L = REL.loop as Record<string, string>;
const U = REL.user_simulation as Record<string, string>;
const RATIOS = ['1_1', '1_3', '1_9'];
const N = 5;

/** Python's `'...{}...'.format(*args)` for templates whose only braces are `{}` slots. */
function pyFormat(tpl: string, args: (string | number)[]): string {
  const parts = tpl.split('{}');
  assert.equal(parts.length - 1, args.length, 'slot count');
  assert.ok(!/[{}]/.test(parts.join('')), 'no other braces');
  return parts.map((p, i) => p + (i < args.length ? String(args[i]) : '')).join('');
}

interface Sample {
  id: number;
  seq_names: string[];
  cans_names: string[];
  sasrec_eval_focus_top_quarter: string[];
  eval_cans_names: string[];
  scoreTexts: string[];
}
function samples(ratio: string): Sample[] {
  return readFileSync(shared('lastfm', 'user_sim', `samples_${ratio}.jsonl`), 'utf8')
    .trim()
    .split('\n')
    .slice(0, N)
    .map((line) => {
      const o = JSON.parse(line);
      // the scores as Python's json wrote them (repr of each float)
      const raw = /"sasrec_eval_scores_eval_cans": \[([^\]]*)\]/.exec(line)![1].split(', ');
      return { ...o, scoreTexts: raw };
    });
}

/** Scripted agents: the rec agent walks the candidates in order; the user says yes in round 2 for even ids, never for odd ones. */
const recReason = (round: number) => `pick ${round} fits the history.`;
const userReason = (round: number) => `round ${round}: not my favourite.`;
const acceptsAt = (id: number) => (id % 2 === 0 ? 2 : 99);
/** The released step 1 reads its prior from a CSV (id,generate,real) by user id: the 1:1 file given with the samples. */
const PRIOR_CSV = shared('lastfm', 'user_sim', 'prior_sasrec_1_1.csv');
const priorOf = new Map(
  readFileSync(PRIOR_CSV, 'utf8')
    .trim()
    .split('\n')
    .slice(1)
    .map((l) => [Number(l.split(',')[0]), l.split(',')[1]] as const),
);

test('released mode renders every step-1 and step-2 prompt byte for byte as the released templates and rules (5 users, ratios 1:1, 1:3, 1:9)', async () => {
  const byRatio = Object.fromEntries(RATIOS.map((r) => [r, samples(r)])) as Record<string, Sample[]>;
  const all = Object.values(byRatio).flat();
  // a step-1 setup = history + candidates (the ratio files share histories, not always candidates)
  const userOfHistory = (t: string) =>
    all.find(
      (s) =>
        (t.includes(`listened to ${s.seq_names.join(', ')} in the previous`) ||
          t.includes(`the following music artists: ${s.seq_names.join(', ')}.`)) &&
        t.includes(`${s.cans_names.join(', ')}`),
    )!;
  const server = await startServer((req: ChatRequest) => {
    const t = req.messages.map((m) => m.content).join('\n');
    if (/please judge whether you like it or not/.test(t)) return { content: 'Reason: scripted.\nDecision: yes' };
    const s = userOfHistory(t);
    if (/Item: <item example>/.test(t)) {
      const round = (t.match(/In round \d+/g) ?? []).length + 1;
      return { content: `Reason: ${recReason(round)}\nItem: ${s.cans_names[round - 1]}` };
    }
    const item = /recommended by the recommendation system is: (.*)\.\n/.exec(t)![1];
    const round = s.cans_names.indexOf(item) + 1;
    return {
      content: round >= acceptsAt(s.id) ? `Reason: ${userReason(round)}\nDecision: yes` : `Reason: ${userReason(round)}\nDecision: no`,
    };
  });
  process.env.FLOWLOOP_LLM_API_KEY ??= 'sk-test';
  try {
    const ctx = makeContext(
      lastfmAfl('released-bytes', {
        agents: 'llm',
        pack: 'released',
        matching: 'strict',
        userMemoryInLoop: false,
        maxRounds: 4,
        evaluations: ['user-simulation'],
        userSimulation: { limit: N, prior: PRIOR_CSV },
        llm: { baseURL: server.url, concurrency: 8, cache: false, checkModel: false },
      }),
      join(ROOT, 'examples', 'afl-test.flowloop.json'),
    );
    await runAflExperiment(ctx);

    // The released loop (evaluate_user_step1 + the agents), per distinct user setup.
    const expected: string[] = [];
    const memoryOf = new Map<string, string[]>();
    for (const s of all) {
      const key = JSON.stringify([s.id, s.seq_names, s.cans_names]);
      if (memoryOf.has(key)) continue;
      const hist = s.seq_names.join(', ');
      const cans = s.cans_names.join(', ');
      const recMem: string[] = [];
      const userMem: string[] = [];
      for (let epoch = 1; epoch <= 4; epoch++) {
        expected.push(
          JSON.stringify(
            recMem.length === 0
              ? [L.rec_system_prompt, pyFormat(L.rec_user_prompt, [hist, s.cans_names.length, cans, priorOf.get(s.id)!])]
              : [L.rec_memory_system_prompt, pyFormat(L.rec_memory_user_prompt, [hist, s.cans_names.length, cans, recMem.join('\n')])],
          ),
        );
        const item = s.cans_names[epoch - 1];
        expected.push(
          JSON.stringify([
            pyFormat(L.user_system_promt, [hist, priorOf.get(s.id)!]),
            pyFormat(L.user_user_prompt, [cans, s.sasrec_eval_focus_top_quarter.join(', '), item, recReason(epoch)]),
          ]),
        );
        const yes = epoch >= acceptsAt(s.id);
        recMem.push(pyFormat(L.rec_build_memory, [epoch, item, recReason(epoch), userReason(epoch)]));
        userMem.push(pyFormat(L.user_build_memory, [epoch, item, recReason(epoch), userReason(epoch)]));
        if (yes) break;
      }
      memoryOf.set(key, userMem);
    }
    // Step 2: every item alone, without and with the step-1 memory.
    for (const r of RATIOS)
      for (const s of byRatio[r]) {
        const mem = memoryOf.get(JSON.stringify([s.id, s.seq_names, s.cans_names]))!;
        s.eval_cans_names.forEach((item, j) => {
          expected.push(
            JSON.stringify([
              pyFormat(U.user_system_prompt, [s.seq_names.join(', ')]),
              pyFormat(U.user_user_prompt, [item, s.scoreTexts[j]]),
            ]),
          );
          expected.push(
            JSON.stringify([
              pyFormat(U.user_memory_system_prompt, [s.seq_names.join(', '), s.cans_names.join(', '), mem.join('\n')]),
              pyFormat(U.user_memory_user_prompt, [item, s.scoreTexts[j]]),
            ]),
          );
        });
      }
    const got = server.requests.map((q) => {
      assert.deepEqual(
        q.messages.map((m) => m.role),
        ['system', 'user'],
      );
      return JSON.stringify(q.messages.map((m) => m.content));
    });
    assert.ok(memoryOf.size >= N, `${memoryOf.size} step-1 users`);
    assert.equal(got.length, expected.length, 'as many requests as the released run makes');
    const sortedGot = [...got].sort();
    const sortedExp = [...expected].sort();
    for (let i = 0; i < sortedExp.length; i++) {
      if (sortedGot[i] !== sortedExp[i]) {
        const missing = sortedExp.find((e) => !got.includes(e));
        assert.fail(
          `a prompt differs from the released rendering:\nexpected (not sent): ${missing}\nsent instead: ${sortedGot.find((g) => !expected.includes(g))}`,
        );
      }
    }
    // accepted rounds entered the memory through user_build_memory with the user's reason
    assert.ok(
      [...memoryOf.values()].some((m) => m.length === 2),
      'some users accepted in round 2',
    );
  } finally {
    await server.close();
  }
});
