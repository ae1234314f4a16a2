import type { FlowloopConfig } from './configTypes';

/**
 * Semantic checks the JSON Schema cannot express, per kind (pure and light: the extension host runs
 * them as you type). Each returns problems with the JSON path of the value to underline.
 * Path existence is generic (schema fields marked `x-flowloop-path`, see validate.ts).
 */
export type SemanticCheck = (config: FlowloopConfig, env: { baseDir: string }) => { path: string; message: string }[];

export const SEMANTIC_CHECKS: Record<string, SemanticCheck> = {};
