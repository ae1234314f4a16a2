/**
 * Transcripts grouped per (run, user) from `dialogue-turn` events (docs/methods.md §B2: per user, rounds of a
 * rec-agent turn then a user-agent turn; the final answer is the last recommended item).
 */
import type { DialogueTurnEvent } from '../../core/experiment/events';

export interface Round {
  round: number;
  rec?: DialogueTurnEvent;
  user?: DialogueTurnEvent;
}

export interface UserTranscript {
  key: string;
  runId: string;
  user: string;
  rounds: Round[];
  /** From the first turn that carries them. */
  candidates?: string[];
  prior?: string;
  focus?: string[];
  target?: string;
  /** Hit of the final answer (the last rec turn), undefined when unknown. */
  hit?: boolean;
  finalItem?: string;
  ruleBased: boolean;
  errors: number;
}

export type Outcome = 'all' | 'hit' | 'miss';

export class TranscriptStore {
  readonly users = new Map<string, UserTranscript>();
  turns = 0;

  clear(): void {
    this.users.clear();
    this.turns = 0;
  }

  add(e: DialogueTurnEvent): UserTranscript {
    const key = `${e.runId}\u0000${e.user}`;
    let u = this.users.get(key);
    if (!u) {
      u = { key, runId: e.runId, user: String(e.user), rounds: [], ruleBased: false, errors: 0 };
      this.users.set(key, u);
    }
    this.turns++;
    let r = u.rounds.find((x) => x.round === e.round);
    if (!r) {
      r = { round: e.round };
      u.rounds.push(r);
      u.rounds.sort((a, b) => a.round - b.round);
    }
    if (e.agent === 'rec') r.rec = e;
    else r.user = e;
    u.candidates ??= e.candidates;
    u.prior ??= e.prior;
    u.focus ??= e.focus;
    u.target ??= e.target;
    if (e.agentKind === 'rule-based') u.ruleBased = true;
    u.errors += e.errors?.length ?? 0;
    const lastRec = [...u.rounds].reverse().find((x) => x.rec)?.rec;
    u.finalItem = lastRec?.item;
    u.hit =
      lastRec?.hit ??
      (lastRec?.item !== undefined && u.target !== undefined
        ? lastRec.item.trim().toLowerCase() === u.target.trim().toLowerCase()
        : undefined);
    return u;
  }

  /** Users passing the filters: outcome, number of rounds (0 = any; 4 = 4 or more), text in user id / items. */
  filter(outcome: Outcome, rounds: number, text: string): UserTranscript[] {
    const q = text.trim().toLowerCase();
    return [...this.users.values()].filter((u) => {
      if (outcome === 'hit' && u.hit !== true) return false;
      if (outcome === 'miss' && u.hit !== false) return false;
      if (rounds > 0 && (rounds >= 4 ? u.rounds.length < 4 : u.rounds.length !== rounds)) return false;
      if (
        q &&
        !(
          u.user.toLowerCase() === q ||
          (u.target ?? '').toLowerCase().includes(q) ||
          u.rounds.some((r) => (r.rec?.item ?? '').toLowerCase().includes(q))
        )
      )
        return false;
      return true;
    });
  }
}
