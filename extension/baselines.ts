/** The baselines table lives in core (shared with the CLI's `flowloop baselines`); kept here for existing importers. */
export { BASELINES, type Baseline } from '../core/experiment/baselines';
