import type { KindRunner } from './context';

/**
 * Kind → runner. Each kind's module is loaded only when a run of that kind starts, so that a run of
 * one kind never pays for (or breaks on) another kind's dependencies.
 */
export const KIND_RUNNERS: Record<string, () => Promise<KindRunner>> = {
  flower: async () => (await import('../flower/experiment')).runFlowerExperiment,
  afl: async () => (await import('../afl/experiment')).runAflExperiment,
  sequential: async () => (await import('../models/experiment')).runSequentialExperiment,
};
