/**
 * AFL transcripts: every prompt, raw response, parse result and decision, per user and
 * round, appended to `transcripts.jsonl` in the run folder (append-only like events.jsonl, so a crash
 * loses nothing already written) and sent as `dialogue-turn` events for the transcript view.
 */
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RunContext } from '../experiment/context';
import type { TurnRecord } from './loop';
import type { Judgement } from './usersim';

export class TranscriptWriter {
  readonly file: string;
  lines = 0;
  constructor(private readonly ctx: RunContext) {
    this.file = join(ctx.runDir, 'transcripts.jsonl');
  }

  /** A loop turn: one line + one dialogue-turn event. `variant` "afl" keeps the plain user id in the event. */
  turn(variant: string, t: TurnRecord, candidates: string[]): void {
    appendFileSync(this.file, JSON.stringify({ variant, ...t }) + '\n');
    this.lines++;
    this.ctx.emit({
      type: 'dialogue-turn',
      user: variant === 'afl' ? t.user : `${variant}:${t.user}`,
      round: t.round,
      agent: t.agent,
      agentKind: t.agentKind,
      prompt: t.prompt,
      response: t.response,
      reason: t.reason,
      item: t.item,
      decision: t.decision,
      errors: t.errors.length ? t.errors : undefined,
      inCandidates: t.inCandidates,
      hit: t.hit,
      candidates: t.round === 1 && t.agent === 'rec' ? candidates : undefined,
      prior: t.prior ?? undefined,
      focus: t.focus ?? undefined,
      target: t.target,
    });
  }

  /** A user-simulation step-2 judgement: one line (no event: 20 per user per variant would flood the view). */
  judgement(variant: string, j: Judgement): void {
    appendFileSync(this.file, JSON.stringify({ variant, agent: 'user', ...j }) + '\n');
    this.lines++;
  }
}
