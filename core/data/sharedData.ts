/**
 * Where the project's shared research data lives for a folder: the nearest `shared/data` at or above it
 * (the layout the templates and docs/design.md assume: `<parent>/shared/data` beside the workspace).
 */
import { statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/** The nearest shared/data folder at or above `dir` (up to 6 levels), or undefined. */
export function findSharedData(dir: string): string | undefined {
  for (let d = resolve(dir), i = 0; i < 6; i++) {
    const p = join(d, 'shared', 'data');
    if (isDir(p)) return p;
    const up = dirname(d);
    if (up === d) break;
    d = up;
  }
  return undefined;
}
