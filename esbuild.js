// Build: bundles the extension host (cjs, `vscode` external), the worker and the CLI (node), and each
// webview (browser iife), and writes the composed config schema to dist/flowloop.schema.json.
// Usage: node esbuild.js [--watch] [--production]
const esbuild = require('esbuild');
const fs = require('node:fs');
const path = require('node:path');

const watch = process.argv.includes('--watch');
const production = process.argv.includes('--production');
const root = __dirname;
const dist = path.join(root, 'dist');

/** Node bundles: npm packages stay external (native modules and wasm files load from node_modules). */
const nodeCommon = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: true,
  minify: production,
  packages: 'external',
  logLevel: 'warning',
};

function exists(p) { return fs.existsSync(path.join(root, p)); }

function webviewEntries() {
  const dir = path.join(root, 'webview');
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && fs.existsSync(path.join(dir, d.name, 'main.ts')))
    .map((d) => d.name);
}

/** The schema is composed in TypeScript (core/experiment/schema.ts); bundle and evaluate it once. */
async function writeSchema() {
  const out = await esbuild.build({ ...nodeCommon, entryPoints: [path.join(root, 'core/experiment/schema.ts')], write: false, sourcemap: false, minify: false });
  const mod = { exports: {} };
  new Function('module', 'exports', 'require', out.outputFiles[0].text)(mod, mod.exports, require);
  fs.mkdirSync(dist, { recursive: true });
  fs.writeFileSync(path.join(dist, 'flowloop.schema.json'), JSON.stringify(mod.exports.buildSchema(), null, 2) + '\n');
}

async function main() {
  const t0 = Date.now();
  const builds = [];
  const nodeEntries = [
    ['core/cli.ts', 'cli.js', true],
    ['core/experiment/worker.ts', 'worker.js', false],
  ];
  for (const [src, out, shebang] of nodeEntries) {
    if (!exists(src)) continue;
    builds.push({ ...nodeCommon, entryPoints: [path.join(root, src)], outfile: path.join(dist, out), banner: shebang ? { js: '#!/usr/bin/env node' } : undefined });
  }
  if (exists('extension/extension.ts')) {
    builds.push({ ...nodeCommon, entryPoints: [path.join(root, 'extension/extension.ts')], outfile: path.join(dist, 'extension.js'), external: ['vscode'], packages: undefined,
      // jsonc-parser's "main" is a UMD build whose dynamic requires esbuild cannot follow: take its ES module build
      mainFields: ['module', 'main'],
      // the host bundles its few pure-JS dependencies (jsonc-parser, ajv) so that it loads fast; natives never reach it
    });
  }
  for (const view of webviewEntries()) {
    builds.push({
      bundle: true, platform: 'browser', format: 'iife', target: 'es2022', sourcemap: true, minify: production, logLevel: 'warning',
      entryPoints: [path.join(root, 'webview', view, 'main.ts')], outfile: path.join(dist, 'webview', `${view}.js`),
      loader: { '.css': 'css' },
    });
  }
  if (watch) {
    for (const b of builds) (await esbuild.context(b)).watch();
    await writeSchema();
    console.log('[flowloop build] watching');
    return;
  }
  await Promise.all(builds.map((b) => esbuild.build(b)));
  await writeSchema();
  writeMarketplaceReadme();
  if (exists('core/cli.ts')) fs.chmodSync(path.join(dist, 'cli.js'), 0o755);
  console.error(`[flowloop build] ${builds.length} bundles + schema in ${Date.now() - t0} ms`);
}

/**
 * The README that the VSIX shows on its details page. vsce (with no public repository URL to rewrite
 * against) refuses relative image links and images that are not https, so the packaged copy is derived
 * from README.md: each relative image becomes a caption naming the PNG that ships in the extension
 * folder, each relative link becomes its text plus the path. README.md stays the single source.
 */
function writeMarketplaceReadme() {
  const src = path.join(root, 'README.md');
  if (!exists('README.md')) return;
  const relative = (link) => !/^\w+:/.test(link) && !link.startsWith('#');
  const text = fs.readFileSync(src, 'utf8')
    .replace(/!\[([^\]]*)\]\(([^)\s]+)\)/g, (all, alt, link) => relative(link) ? `*Screenshot — ${alt} (\`${link}\` in the extension folder)*` : all)
    .replace(/(^|[^!])\[([^\]]+)\]\(([^)\s]+)\)/g, (all, pre, label, link) => relative(link) ? `${pre}${label} (\`${link}\`)` : all);
  fs.mkdirSync(dist, { recursive: true });
  fs.writeFileSync(path.join(dist, 'README.marketplace.md'), text);
}

main().catch((e) => { console.error(e.message ?? e); process.exit(1); });
