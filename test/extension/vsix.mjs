// Packaging acceptance: `vsce package` (what `npm run package` runs; offline) makes a linux-x64 VSIX of at most
// 300 files and 30 MB that holds the bundles, the prebuilt native kernels and what the bundles load beside
// them — no node_modules, sources, tests, dev dependencies or ../shared data. code-server installs it; then
// the INSTALLED extension (no development path) runs the demo config from the editor (▶ Run CodeLens) in a
// code-server started inside a mount namespace where Debian's OpenBLAS, libgomp and g++ are hidden, and
// run.json, the worker's memory map and the Output channel must show the native kernels.
// Records files, size and the demo's time in test-artifacts/vsix.json.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { CODE_SERVER, ROOT, checkRunner, latestRun, launchBrowser, removeDir, startCodeServer, tempDir, GOTO_MS } from './host.mjs';

/** Acceptance bounds of the linux-x64 VSIX. */
export const MAX_FILES = 300;
export const MAX_BYTES = 30 * 1048576;

function listZip(file) {
  // unzip -Z1 lists names; fall back to python's zipfile when unzip is missing
  try {
    return execFileSync('unzip', ['-Z1', file], { encoding: 'utf8', maxBuffer: 64 << 20 })
      .split('\n')
      .filter(Boolean);
  } catch {
    return execFileSync('python3', ['-c', 'import sys,zipfile;print("\\n".join(zipfile.ZipFile(sys.argv[1]).namelist()))', file], {
      encoding: 'utf8',
      maxBuffer: 64 << 20,
    })
      .split('\n')
      .filter(Boolean);
  }
}

function readZipEntry(file, entry) {
  try {
    return execFileSync('unzip', ['-p', file, entry], { encoding: 'utf8', maxBuffer: 64 << 20 });
  } catch {
    return execFileSync(
      'python3',
      ['-c', 'import sys,zipfile;sys.stdout.write(zipfile.ZipFile(sys.argv[1]).read(sys.argv[2]).decode())', file, entry],
      { encoding: 'utf8', maxBuffer: 64 << 20 },
    );
  }
}

/** Every file under a folder (recursively) with its size. */
function filesWithSize(dir, out = []) {
  for (const d of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, d.name);
    if (d.isDirectory()) filesWithSize(p, out);
    else if (d.isFile()) out.push({ path: p, size: statSync(p).size });
  }
  return out;
}

// python's zipfile: [{name, size}] of every entry, and the SHA-256 of the named entries (names on stdin)
const ZIP_SIZES =
  'import sys,zipfile,json;print(json.dumps([{"name":i.filename,"size":i.file_size} for i in zipfile.ZipFile(sys.argv[1]).infolist() if not i.is_dir()]))';
const ZIP_SHA =
  'import sys,zipfile,json,hashlib;z=zipfile.ZipFile(sys.argv[1]);print(json.dumps({n:hashlib.sha256(z.read(n)).hexdigest() for n in json.load(sys.stdin)}))';

/**
 * Licence check (shared/data/README.md: research-only data never goes into the .vsix): no packaged file
 * may be byte-identical to a file under ../shared/data, whatever its name or place. Sizes are compared
 * first, so only same-size files on either side are hashed. Returns the offenders ("entry = data file").
 */
export function sharedDataCopies(vsix, dataDir = join(ROOT, '..', 'shared', 'data')) {
  if (!existsSync(dataDir)) return { checked: 0, copies: [], note: `no ${dataDir} here: nothing to compare` };
  const data = filesWithSize(dataDir);
  const entries = JSON.parse(execFileSync('python3', ['-c', ZIP_SIZES, vsix], { encoding: 'utf8', maxBuffer: 256 << 20 }));
  const dataSizes = new Set(data.map((f) => f.size));
  const candidates = entries.filter((e) => dataSizes.has(e.size));
  const entrySizes = new Set(candidates.map((e) => e.size));
  const byHash = new Map();
  for (const f of data.filter((d) => entrySizes.has(d.size)))
    byHash.set(createHash('sha256').update(readFileSync(f.path)).digest('hex'), f.path);
  const hashes = candidates.length
    ? JSON.parse(
        execFileSync('python3', ['-c', ZIP_SHA, vsix], {
          input: JSON.stringify(candidates.map((e) => e.name)),
          encoding: 'utf8',
          maxBuffer: 256 << 20,
        }),
      )
    : {};
  const copies = Object.entries(hashes)
    .filter(([, h]) => byHash.has(h))
    .map(([n, h]) => `${n} = shared/data/${relative(dataDir, byHash.get(h))}`);
  return { checked: candidates.length, dataFiles: data.length, copies };
}

/**
 * Hides what a user's machine may lack — Debian's OpenBLAS (and BLAS/LAPACK alternatives), the system
 * libgomp, g++/gcc and their libraries — inside a private mount namespace (empty tmpfs over folders,
 * /dev/null over files), prints what is still visible, then execs the command. Needs root (unshare -m).
 */
const HIDE = `set -e
L=/usr/lib/x86_64-linux-gnu
for d in $L/openblas-pthread $L/openblas-openmp $L/openblas-serial $L/blas $L/lapack /usr/lib/gcc /usr/libexec/gcc /usr/include/x86_64-linux-gnu/openblas-pthread; do
  if [ -d "$d" ]; then mount -t tmpfs -o size=1m none "$d"; fi
done
for f in $L/libopenblas* $L/libblas.so* $L/liblapack.so* $L/libgomp.so* /usr/bin/g++* /usr/bin/*-g++* /usr/bin/c++ /usr/bin/gcc* /usr/bin/*-gcc* /usr/bin/cc; do
  if [ -e "$f" ] && [ ! -d "$f" ]; then mount --bind /dev/null "$f"; fi
done
blas=$(for f in $L/libopenblas* $L/libgomp.so*; do [ -s "$f" ] && echo "$f"; done | wc -l)
if g++ --version >/dev/null 2>&1; then gxx=visible; else gxx=hidden; fi
echo "FLOWLOOP-HIDDEN openblas-files-with-content=$blas g++=$gxx"
exec "$@"`;

function canHide() {
  return (
    process.platform === 'linux' && spawnSync('unshare', ['-m', 'sh', '-c', 'mount -t tmpfs none /mnt'], { stdio: 'ignore' }).status === 0
  );
}

/** The demo config and its titles file in a fresh workspace (the titles are a test-side copy, never packaged). */
function demoWorkspace(tmp) {
  const ws = join(tmp, 'demo-ws');
  mkdirSync(ws, { recursive: true });
  copyFileSync(join(ROOT, 'examples', 'rq1', 'demo.flowloop.json'), join(ws, 'demo.flowloop.json'));
  copyFileSync(join(ROOT, 'examples', 'rq1', 'select_100_Movies.json'), join(ws, 'select_100_Movies.json'));
  return ws;
}

/** Files of the worker's memory map whose path matches `re` (read from outside, while it runs). */
function mappedFiles(pid, re) {
  try {
    return [
      ...new Set(
        readFileSync(`/proc/${pid}/maps`, 'utf8')
          .split('\n')
          .map((l) => l.split(/\s+/).slice(5).join(' '))
          .filter((p) => re.test(p)),
      ),
    ];
  } catch {
    return undefined;
  }
}

export async function runVsixTest() {
  const results = [];
  const tmp = tempDir('flowloop-vsix-');
  const vsix = join(tmp, 'flowloop.vsix');
  const record = {};
  const check = checkRunner(results, 'VSIX', { errorLines: 8 });
  const saveRecord = () => {
    mkdirSync(join(ROOT, 'test-artifacts'), { recursive: true });
    writeFileSync(join(ROOT, 'test-artifacts', 'vsix.json'), JSON.stringify(record, null, 2));
  };
  try {
    // plain `vsce package` (only -o to keep the clone clean): target, packaged README and the missing repository
    // come from package.json's "vsce" block; stdin is closed so any interactive prompt fails instead of hanging
    const packaged = await check('plain `vsce package` works offline', () => {
      execFileSync(process.execPath, [join(ROOT, 'node_modules', '@vscode', 'vsce', 'vsce'), 'package', '-o', vsix], {
        cwd: ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
        timeout: 300000,
      });
      if (!existsSync(vsix)) throw new Error('no .vsix written');
    });
    if (!packaged) return results;
    const size = statSync(vsix).size;
    const names = listZip(vsix).filter((n) => !n.endsWith('/'));
    Object.assign(record, {
      bytes: size,
      mb: +(size / 1048576).toFixed(2),
      files: names.length,
      maxFiles: MAX_FILES,
      maxMb: MAX_BYTES / 1048576,
    });
    saveRecord();
    console.log(`VSIX: ${(size / 1048576).toFixed(2)} MB, ${names.length} files`);
    await check(`linux-x64, at most ${MAX_FILES} files and ${MAX_BYTES / 1048576} MB`, () => {
      const manifest = readZipEntry(vsix, 'extension.vsixmanifest');
      const target = /TargetPlatform="([^"]+)"/.exec(manifest)?.[1];
      const bad = [];
      if (target !== 'linux-x64') bad.push(`target platform ${target ?? 'none'} (expected linux-x64)`);
      if (names.length > MAX_FILES) bad.push(`${names.length} files > ${MAX_FILES}`);
      if (size > MAX_BYTES) bad.push(`${(size / 1048576).toFixed(2)} MB > ${MAX_BYTES / 1048576} MB`);
      if (bad.length) throw new Error(bad.join('; '));
    });
    await check(
      'holds the bundles (worker, CLI for Slurm jobs), native kernels, onnxruntime, wasm, one tokenizer copy; no node_modules, sources, tests, maps or shared data',
      () => {
        // dist/cli.js: what Slurm jobs submitted from the editor run (core/executor/slurmRun.ts flowloopCommand)
        const must = [
          'extension/package.json',
          'extension/dist/extension.js',
          'extension/dist/worker.js',
          'extension/dist/cli.js',
          'extension/dist/flowloop.schema.json',
          'extension/dist/flowloop.editor-schema.json',
          'extension/dist/executors.schema.json',
          'extension/dist/methods-sections.json',
          'extension/native/build/Release/flowloop_native.node',
          'extension/native/build/Release/libgomp.so.1',
          'extension/dist/onnxruntime/onnxruntime_binding.node',
          'extension/dist/onnxruntime/libonnxruntime.so.1',
          'extension/dist/tfjs-backend-wasm-simd.wasm',
          'extension/dist/tokenizers/qwen2.5/tokenizer.json',
        ];
        const missing = must.filter((m) => !names.includes(m));
        const bad = names.filter(
          (n) =>
            /^extension\/(node_modules|core|extension|webview|test|bench|\.vscode-test|\.flowloop|test-artifacts|\.ci)\//.test(n) ||
            /^extension\/native\/(?!build\/Release\/(flowloop_native\.node|libgomp\.so\.1)$)/.test(n) ||
            /(^|\/)shared\/data\//.test(n) ||
            /\.(map|ts|cc|gyp)$/.test(n),
        );
        const tokenizers = names.filter((n) => /(^|\/)tokenizer\.json$|vocab\.json$|merges\.txt$/.test(n));
        const wasm = names.filter((n) => n.endsWith('.wasm')).map((n) => n.split('/').pop());
        const dupWasm = wasm.filter((w, i) => wasm.indexOf(w) !== i);
        if (missing.length || bad.length || tokenizers.length !== 1 || dupWasm.length) {
          throw new Error(
            `missing: ${missing.join(', ') || '-'}; must not be there: ${bad.slice(0, 10).join(', ') || '-'}${bad.length > 10 ? ` (+${bad.length - 10})` : ''}; tokenizer files: ${tokenizers.join(', ')}; wasm twice: ${dupWasm.join(', ') || '-'}`,
          );
        }
      },
    );
    await check('no packaged file is a copy of a ../shared/data file (same SHA-256; research-only licences)', () => {
      const r = sharedDataCopies(vsix);
      if (r.note) console.log(`VSIX: ${r.note}`);
      else console.log(`VSIX: ${r.checked} entries of a data file's size hashed against ${r.dataFiles} shared/data files`);
      if (r.copies.length) throw new Error(`copies of shared data in the VSIX: ${r.copies.join(', ')}`);
      if (names.includes('extension/examples/rq1/select_100_Movies.json'))
        throw new Error('examples/rq1/select_100_Movies.json is packaged');
      if (!names.includes('extension/examples/rq1/demo.flowloop.json'))
        throw new Error('examples/rq1/demo.flowloop.json (a template) is missing');
    });
    await check('the packaged README names only screenshots that ship in the VSIX', () => {
      const readme = readZipEntry(vsix, 'extension/readme.md');
      const shots = [...readme.matchAll(/`(docs\/screenshots\/[^`]+\.png)`/g)].map((m) => m[1]);
      const missing = shots.filter((p) => !names.includes(`extension/${p}`));
      if (shots.length < 4 || missing.length || /!\[[^\]]*\]\((?!https:)/.test(readme))
        throw new Error(
          `screenshots named: ${shots.length}; missing from the VSIX: ${missing.join(', ') || '-'}; relative image left: ${/!\[[^\]]*\]\((?!https:)/.test(readme)}`,
        );
    });
    const extDir = join(tmp, 'extensions');
    const installed = await check('code-server --install-extension installs it', () => {
      execFileSync(CODE_SERVER, ['--extensions-dir', extDir, '--user-data-dir', join(tmp, 'ud'), '--install-extension', vsix], {
        stdio: ['ignore', 'pipe', 'pipe'],
        timeout: 120000,
        env: { ...process.env, EXTENSIONS_GALLERY: '{}' },
      });
      if (!readdirSync(extDir).some((d) => d.startsWith('flowloop.flowloop-')))
        throw new Error(`not in ${extDir}: ${readdirSync(extDir).join(', ')}`);
    });
    if (!installed) return results;
    const dir = join(
      extDir,
      readdirSync(extDir).find((d) => d.startsWith('flowloop.flowloop-')),
    );
    await check('the installed extension bundle loads (activate/deactivate exported)', () => {
      // load dist/extension.js in plain Node with a stub `vscode` module: catches unresolved requires in the bundle
      const code = `const Module = require('module'); const orig = Module._load;
        Module._load = function (req, ...rest) { if (req === 'vscode') return new Proxy({}, { get: () => function () {} }); return orig.call(this, req, ...rest); };
        const m = require(${JSON.stringify(join(dir, 'dist', 'extension.js'))});
        if (typeof m.activate !== 'function' || typeof m.deactivate !== 'function') throw new Error('activate/deactivate not exported');`;
      execFileSync(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'pipe'], timeout: 60000 });
    });
    await check('the installed native addon needs nothing from the system but libc/libm (OpenBLAS inside, libgomp beside)', () => {
      const deps = execFileSync('readelf', ['-d', join(dir, 'native', 'build', 'Release', 'flowloop_native.node')], { encoding: 'utf8' });
      const needed = [...deps.matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)].map((m) => m[1]);
      const runpath = /\((?:RUNPATH|RPATH)\)\s+Library r(?:un)?path: \[([^\]]+)\]/.exec(deps)?.[1];
      const other = needed.filter((n) => !/^(libc|libm|libgomp|libpthread|libdl)\.so/.test(n));
      if (other.length || runpath !== '$ORIGIN') throw new Error(`needs ${needed.join(', ')}; runpath ${runpath}`);
    });
    const hide = canHide();
    const label = hide
      ? 'OpenBLAS, libgomp and g++ hidden (mount namespace)'
      : 'unshare -m unavailable (not root?): OpenBLAS and g++ NOT hidden, LD_LIBRARY_PATH/PATH stripped only';
    await check(`the installed extension runs the demo config from the editor with native kernels — ${label}`, async () => {
      const ws = demoWorkspace(tmp);
      const wrap = hide ? (cmd, args) => ['unshare', ['-m', 'sh', '-c', HIDE, 'hide', cmd, ...args]] : undefined;
      const env = hide ? {} : { LD_LIBRARY_PATH: '', PATH: `${join(process.execPath, '..')}:/usr/bin:/bin` };
      let host, browser;
      try {
        // the same extensions folder the VSIX was installed into (startCodeServer uses <tmp>/extensions)
        host = await startCodeServer({ tmp, workspace: ws, wrap, env });
        if (hide) {
          const line = /FLOWLOOP-HIDDEN openblas-files-with-content=(\d+) g\+\+=(\w+)/.exec(host.log());
          if (!line || line[1] !== '0' || line[2] !== 'hidden')
            throw new Error(`hiding did not take: ${line?.[0] ?? host.log().slice(0, 300)}`);
        }
        browser = await launchBrowser();
        const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
        // no extensionDevelopmentPath: the workbench runs the extension installed from the VSIX
        await page.goto(`http://${host.authority}/?folder=${encodeURIComponent(ws)}`, { timeout: GOTO_MS }); // the workbench's first load: minutes under load
        await page.waitForSelector('.explorer-folders-view .monaco-list-row', { timeout: 90000 });
        await page.locator('.explorer-folders-view .monaco-list-row[aria-label="demo.flowloop.json"]').click();
        await page.locator('.codelens-decoration a', { hasText: '▶ Run' }).waitFor({ timeout: 90000 });
        await page.locator('.codelens-decoration a', { hasText: '▶ Run' }).click();
        const t0 = Date.now();
        let maps;
        for (;;) {
          const r = latestRun(ws);
          if (r?.info.backend && r.info.pid && !maps) maps = mappedFiles(r.info.pid, /openblas|libgomp|flowloop_native|libblas/);
          if (r && r.info.status !== 'running') {
            if (r.info.status !== 'finished') throw new Error(`demo run ended ${r.info.status}: ${r.info.error ?? ''}`);
            record.demoRunMs = r.info.durationMs;
            record.demoBackend = r.info.backend;
            record.workerMaps = maps;
            record.hidden = hide;
            saveRecord();
            const reason = r.info.backend?.reason ?? '';
            if (!/native OpenBLAS kernels/.test(reason)) throw new Error(`run.json backend: ${JSON.stringify(r.info.backend)}`);
            if (maps) {
              const inExt = (f) => f.startsWith(join(dir, 'native', 'build', 'Release'));
              const foreign = maps.filter((f) => !inExt(f));
              if (
                foreign.length ||
                !maps.some((f) => f.endsWith('flowloop_native.node')) ||
                !maps.some((f) => f.endsWith('libgomp.so.1'))
              ) {
                throw new Error(
                  `worker maps ${maps.join(', ') || 'nothing native'} (expected only the extension's flowloop_native.node and libgomp.so.1)`,
                );
              }
            } else throw new Error('the worker exited before its memory map could be read');
            break;
          }
          if (Date.now() - t0 > 300000) throw new Error('the demo did not finish in 300 s');
          await new Promise((res) => setTimeout(res, 250));
        }
        const logs = execFileSync('find', [join(tmp, 'user-data', 'logs'), '-name', '*Flowloop.log'], { encoding: 'utf8' })
          .split('\n')
          .filter(Boolean);
        const out = logs.map((f) => readFileSync(f, 'utf8')).join('');
        if (!/native OpenBLAS kernels/.test(out))
          throw new Error(`the Output channel does not name the native kernels (${out.length} bytes)`);
        console.log(
          `VSIX: installed extension's demo ${(record.demoRunMs / 1000).toFixed(1)} s on ${record.demoBackend.name}; worker maps ${maps.map((f) => f.split('/').pop()).join(', ')}`,
        );
      } finally {
        await browser?.close().catch(() => {});
        const left = await host?.stop();
        // eslint-disable-next-line no-unsafe-finally -- a process left behind fails the test even when the body failed first
        if (left?.length) throw new Error(`processes left: ${left.join(' ')}`);
      }
    });
  } finally {
    removeDir(tmp);
  }
  return results;
}
