/**
 * AFL recommendation metrics (docs/methods.md §B1, B6): HitRatio@1 of the final answer, the HR@1-per-round
 * curve, the popularity of recommended items per round, and failure counts.
 */
import { isHit, type Matching } from './parse';
import type { UserOutcome } from './loop';

export interface Count {
  hits: number;
  users: number;
  hr: number;
}

export function count(hits: number, users: number): Count {
  return { hits, users, hr: users > 0 ? hits / users : 0 };
}

/** docs/methods.md §B3: Base HR@1 = the prior (base model's top-1 among the candidates) equals the target. */
export function baseHr1(priors: (string | null)[], targets: string[], matching: Matching): Count {
  let h = 0;
  for (let i = 0; i < targets.length; i++) if (isHit(priors[i], targets[i], matching)) h++;
  return count(h, targets.length);
}

/**
 * docs/methods.md §B6 curve: HR@1 after round r = the user's last recommended item up to round r is the target;
 * a user whose loop failed permanently at round f counts as a miss from round f on.
 */
export function hrCurve(outcomes: UserOutcome[], maxRounds: number): Count[] {
  const curve: Count[] = [];
  for (let r = 1; r <= maxRounds; r++) {
    let h = 0;
    for (const o of outcomes) {
      if (o.failed && (o.failedRound ?? 1) <= r) continue;
      const upTo = o.rounds.filter((x) => x.round <= r && x.item !== null);
      if (upTo.length > 0 && upTo[upTo.length - 1].hit) h++;
    }
    curve.push(count(h, outcomes.length));
  }
  return curve;
}

export interface RoundPopularity {
  round: number;
  /** Users who got a recommendation in this round. */
  users: number;
  /** Mean interaction count of the items recommended in this round (items unseen in the counts = 0). */
  meanCount: number;
  /** Mean popularity percentile (1 = the most popular item of the catalogue). */
  meanPercentile: number;
}

/** docs/methods.md §B6: popularity of the items recommended in each round. */
export function popularityPerRound(outcomes: UserOutcome[], maxRounds: number, counts: Map<string, number>): RoundPopularity[] {
  const sorted = [...counts.values()].sort((a, b) => a - b);
  const percentile = (c: number) => {
    let lo = 0,
      hi = sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (sorted[mid] <= c) lo = mid + 1;
      else hi = mid;
    }
    return sorted.length > 0 ? lo / sorted.length : 0;
  };
  const out: RoundPopularity[] = [];
  for (let r = 1; r <= maxRounds; r++) {
    let n = 0,
      sum = 0,
      pct = 0;
    for (const o of outcomes) {
      const rr = o.rounds.find((x) => x.round === r);
      if (!rr || rr.item === null) continue;
      const c = counts.get(rr.item.trim().toLowerCase()) ?? 0;
      n++;
      sum += c;
      pct += percentile(c);
    }
    out.push({ round: r, users: n, meanCount: n ? sum / n : 0, meanPercentile: n ? pct / n : 0 });
  }
  return out;
}

export interface LoopSummary {
  /** "Rec Agent" = round 1 of the loop (the same first call; docs/methods.md §B6 curve start). */
  recAgent: Count;
  /** AFL = the final answer after up to maxRounds rounds. */
  afl: Count;
  curve: Count[];
  popularity: RoundPopularity[];
  acceptedByRound: number[];
  meanRounds: number;
  failedUsers: number;
  parseFailures: number;
  httpRetries: number;
  httpFailures: number;
  itemsNotInCandidates: number;
  failures: { user: number; failure: string }[];
}

export function summarizeLoop(outcomes: UserOutcome[], maxRounds: number, counts: Map<string, number>): LoopSummary {
  const curve = hrCurve(outcomes, maxRounds);
  const acceptedByRound = Array.from({ length: maxRounds }, () => 0);
  let rounds = 0;
  for (const o of outcomes) {
    rounds += o.rounds.length;
    if (o.accepted) acceptedByRound[o.rounds.length - 1]++;
  }
  const sum = (f: (o: UserOutcome) => number) => outcomes.reduce((a, o) => a + f(o), 0);
  return {
    recAgent: curve[0],
    afl: count(outcomes.filter((o) => o.hit && !o.failed).length, outcomes.length),
    curve,
    popularity: popularityPerRound(outcomes, maxRounds, counts),
    acceptedByRound,
    meanRounds: outcomes.length ? rounds / outcomes.length : 0,
    failedUsers: outcomes.filter((o) => o.failed).length,
    parseFailures: sum((o) => o.parseFailures),
    httpRetries: sum((o) => o.httpRetries),
    httpFailures: sum((o) => o.httpFailures),
    itemsNotInCandidates: sum((o) => o.itemsNotInCandidates),
    failures: outcomes.filter((o) => o.failed).map((o) => ({ user: o.user, failure: o.failure ?? 'failed' })),
  };
}

/** "34/122 = 0.2787" */
export function fmtCount(c: Count): string {
  return `${c.hits}/${c.users} = ${c.hr.toFixed(4)}`;
}
