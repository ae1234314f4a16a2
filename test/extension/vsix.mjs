// Packaging acceptance: `vsce package` (offline) makes a linux-x64 VSIX that holds no ../shared data, none of
// our dev dependencies and no test or source files; code-server installs it; the INSTALLED worker finishes
// a real run of the quick config. Records the VSIX size in test-artifacts/vsix.json.
import { execFileSync, fork } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { CODE_SERVER, ROOT, makeWorkspace, removeDir, tempDir } from './host.mjs';

function listZip(file) {
  // unzip -Z1 lists names; fall back to python's zipfile when unzip is missing
  try { return execFileSync('unzip', ['-Z1', file], { encoding: 'utf8', maxBuffer: 64 << 20 }).split('\n').filter(Boolean); } catch {
    return execFileSync('python3', ['-c', 'import sys,zipfile;print("\\n".join(zipfile.ZipFile(sys.argv[1]).namelist()))', file], { encoding: 'utf8', maxBuffer: 64 << 20 }).split('\n').filter(Boolean);
  }
}

function readZipEntry(file, entry) {
  try { return execFileSync('unzip', ['-p', file, entry], { encoding: 'utf8', maxBuffer: 64 << 20 }); } catch {
    return execFileSync('python3', ['-c', 'import sys,zipfile;sys.stdout.write(zipfile.ZipFile(sys.argv[1]).read(sys.argv[2]).decode())', file, entry], { encoding: 'utf8', maxBuffer: 64 << 20 });
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
const ZIP_SIZES = 'import sys,zipfile,json;print(json.dumps([{"name":i.filename,"size":i.file_size} for i in zipfile.ZipFile(sys.argv[1]).infolist() if not i.is_dir()]))';
const ZIP_SHA = 'import sys,zipfile,json,hashlib;z=zipfile.ZipFile(sys.argv[1]);print(json.dumps({n:hashlib.sha256(z.read(n)).hexdigest() for n in json.load(sys.stdin)}))';

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
  for (const f of data.filter((d) => entrySizes.has(d.size))) byHash.set(createHash('sha256').update(readFileSync(f.path)).digest('hex'), f.path);
  const hashes = candidates.length
    ? JSON.parse(execFileSync('python3', ['-c', ZIP_SHA, vsix], { input: JSON.stringify(candidates.map((e) => e.name)), encoding: 'utf8', maxBuffer: 256 << 20 }))
    : {};
  const copies = Object.entries(hashes).filter(([, h]) => byHash.has(h)).map(([n, h]) => `${n} = shared/data/${relative(dataDir, byHash.get(h))}`);
  return { checked: candidates.length, dataFiles: data.length, copies };
}

export async function runVsixTest() {
  const results = [];
  const tmp = tempDir('flowloop-vsix-');
  const vsix = join(tmp, 'flowloop.vsix');
  const check = async (name, fn) => {
    const s = Date.now();
    try { await fn(); results.push({ name: `VSIX: ${name}`, ok: true, ms: Date.now() - s }); return true; } catch (e) {
      results.push({ name: `VSIX: ${name}`, ok: false, ms: Date.now() - s, error: e.message.split('\n').slice(0, 8).join('\n') }); return false;
    }
  };
  try {
    // plain `vsce package` (only -o to keep the clone clean): target, packaged README and the missing repository
    // come from package.json's "vsce" block; stdin is closed so any interactive prompt fails instead of hanging
    const packaged = await check('plain `vsce package` works offline', () => {
      execFileSync(process.execPath, [join(ROOT, 'node_modules', '@vscode', 'vsce', 'vsce'), 'package', '-o', vsix],
        { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], timeout: 300000 });
      if (!existsSync(vsix)) throw new Error('no .vsix written');
    });
    if (!packaged) return results;
    const size = statSync(vsix).size;
    const names = listZip(vsix);
    mkdirSync(join(ROOT, 'test-artifacts'), { recursive: true });
    writeFileSync(join(ROOT, 'test-artifacts', 'vsix.json'), JSON.stringify({ bytes: size, mb: +(size / 1048576).toFixed(2), files: names.length }, null, 2));
    console.log(`VSIX: ${(size / 1048576).toFixed(1)} MB, ${names.length} files`);
    await check('holds dist/, examples/ and no sources, tests, dev dependencies or shared data', () => {
      const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
      const must = ['extension/package.json', 'extension/dist/extension.js', 'extension/dist/worker.js', 'extension/dist/flowloop.schema.json'];
      const missing = must.filter((m) => !names.includes(m));
      const bad = names.filter((n) =>
        /^extension\/(core|extension|webview|test|bench|native|\.vscode-test|\.flowloop|test-artifacts|\.ci)\//.test(n)
        || /(^|\/)shared\/data\//.test(n) || /\.(map|ts)$/.test(n)
        || Object.keys(pkg.devDependencies ?? {}).some((d) => n.startsWith(`extension/node_modules/${d}/`)));
      if (missing.length || bad.length) throw new Error(`missing: ${missing.join(', ') || '-'}; must not be there: ${bad.slice(0, 10).join(', ')}${bad.length > 10 ? ` (+${bad.length - 10})` : ''}`);
    });
    await check('no packaged file is a copy of a ../shared/data file (same SHA-256; research-only licences)', () => {
      const r = sharedDataCopies(vsix);
      if (r.note) console.log(`VSIX: ${r.note}`);
      else console.log(`VSIX: ${r.checked} entries of a data file's size hashed against ${r.dataFiles} shared/data files`);
      if (r.copies.length) throw new Error(`copies of shared data in the VSIX: ${r.copies.join(', ')}`);
      if (names.includes('extension/examples/rq1/select_100_Movies.json')) throw new Error('examples/rq1/select_100_Movies.json is packaged');
      if (!names.includes('extension/examples/rq1/demo.flowloop.json')) throw new Error('examples/rq1/demo.flowloop.json (a template) is missing');
    });
    await check('the packaged README names only screenshots that ship in the VSIX', () => {
      const readme = readZipEntry(vsix, 'extension/readme.md');
      const shots = [...readme.matchAll(/`(docs\/screenshots\/[^`]+\.png)`/g)].map((m) => m[1]);
      const missing = shots.filter((p) => !names.includes(`extension/${p}`));
      if (shots.length < 4 || missing.length || /!\[[^\]]*\]\((?!https:)/.test(readme)) throw new Error(`screenshots named: ${shots.length}; missing from the VSIX: ${missing.join(', ') || '-'}; relative image left: ${/!\[[^\]]*\]\((?!https:)/.test(readme)}`);
    });
    const extDir = join(tmp, 'extensions');
    const installed = await check('code-server --install-extension installs it', () => {
      execFileSync(CODE_SERVER, ['--extensions-dir', extDir, '--user-data-dir', join(tmp, 'ud'), '--install-extension', vsix], { stdio: ['ignore', 'pipe', 'pipe'], timeout: 120000, env: { ...process.env, EXTENSIONS_GALLERY: '{}' } });
      if (!readdirSync(extDir).some((d) => d.startsWith('flowloop.flowloop-'))) throw new Error(`not in ${extDir}: ${readdirSync(extDir).join(', ')}`);
    });
    if (installed) {
      await check('the installed extension bundle loads (activate/deactivate exported)', () => {
        const dir = join(extDir, readdirSync(extDir).find((d) => d.startsWith('flowloop.flowloop-')));
        // load dist/extension.js in plain Node with a stub `vscode` module: catches unresolved requires in the bundle
        const code = `const Module = require('module'); const orig = Module._load;
          Module._load = function (req, ...rest) { if (req === 'vscode') return new Proxy({}, { get: () => function () {} }); return orig.call(this, req, ...rest); };
          const m = require(${JSON.stringify(join(dir, 'dist', 'extension.js'))});
          if (typeof m.activate !== 'function' || typeof m.deactivate !== 'function') throw new Error('activate/deactivate not exported');`;
        execFileSync(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'pipe'], timeout: 60000 });
      });
      await check('the installed worker finishes a run of the quick config', async () => {
        const dir = join(extDir, readdirSync(extDir).find((d) => d.startsWith('flowloop.flowloop-')));
        const ws = makeWorkspace(tmp);
        const child = fork(join(dir, 'dist', 'worker.js'), [], { cwd: ws, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
        let err = '';
        child.stderr.on('data', (d) => { err += d; });
        const done = await new Promise((resolve, reject) => {
          const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error('no result in 180 s')); }, 180000);
          child.on('message', (m) => { if (m.type === 'done') { clearTimeout(timer); resolve(m); } });
          child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`worker exited ${code} without done: ${err.slice(-500)}`)); });
          child.send({ type: 'start', configPath: join(ws, 'quick.flowloop.json'), workspace: ws });
        });
        if (done.status !== 'finished') throw new Error(`run ${done.status}: ${done.error}`);
      });
    }
  } finally {
    removeDir(tmp);
  }
  return results;
}
