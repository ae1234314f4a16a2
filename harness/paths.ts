import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

/** Repository root (this file lives in harness/). */
export const ROOT = resolve(__dirname, '..');
/** ../shared/data beside the repository: real datasets and models (read-only). */
export const SHARED_DATA = resolve(ROOT, '..', 'shared', 'data');

/** Path under ../shared/data; throws a clear error when the shared data is not there (never a silent skip). */
export function shared(...parts: string[]): string {
  const p = resolve(SHARED_DATA, ...parts);
  if (!existsSync(p)) throw new Error(`shared test data missing: ${p} (tests need ../shared beside the repository)`);
  return p;
}

/** `node` arguments that run a TypeScript entry of this repository from any working directory (tsx loader by absolute URL). */
export const TSX_IMPORT = ['--import', pathToFileURL(resolve(ROOT, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href];
