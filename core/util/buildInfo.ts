/**
 * Versions of what runs: the esbuild bundles (dist/) carry the versions of the packages bundled into them
 * (esbuild.js defines FLOWLOOP_BUILD_VERSIONS at build time — no node_modules beside a VSIX or an npm
 * install); running from sources, the installed packages' package.json files are read.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
// the packages whose versions are reported (esbuild.js reads the same list for the bundles)
import BUNDLED_PACKAGES from './bundledPackages.json';

declare const FLOWLOOP_BUILD_VERSIONS: Record<string, string> | undefined;

/** True inside an esbuild bundle (dist/*.js), false when running from sources (tsx). */
export function isBundled(): boolean {
  return typeof FLOWLOOP_BUILD_VERSIONS !== 'undefined';
}

/** Versions from the build (bundles) or from the installed packages (sources); missing ones are omitted. */
export function packageVersions(): Record<string, string> {
  const out: Record<string, string> = { node: process.versions.node };
  if (typeof FLOWLOOP_BUILD_VERSIONS !== 'undefined') return { ...out, ...FLOWLOOP_BUILD_VERSIONS };
  const root = projectRoot();
  if (root) out.flowloop = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version;
  for (const pkg of BUNDLED_PACKAGES) {
    try {
      out[pkg] = JSON.parse(readFileSync(require.resolve(`${pkg}/package.json`), 'utf8')).version;
    } catch {
      /* not installed */
    }
  }
  return out;
}

/** Flowloop's own version. */
export function flowloopVersion(): string {
  return packageVersions().flowloop ?? 'unknown';
}

/** The folder holding Flowloop's package.json (the repository, the extension or the npm package), walking up from here. */
export function projectRoot(): string | undefined {
  let d = typeof __dirname === 'string' ? __dirname : process.cwd();
  for (let i = 0; i < 5; i++) {
    const f = join(d, 'package.json');
    if (existsSync(f)) {
      try {
        if (JSON.parse(readFileSync(f, 'utf8')).name === 'flowloop') return d;
      } catch {
        /* not ours */
      }
    }
    d = dirname(d);
  }
  return undefined;
}
