#!/usr/bin/env node
// Builds Flowloop's optional native kernels (native/binding.gyp) with node-gyp into native/build/Release/:
// flowloop_native.node (OpenBLAS inside, statically) and libgomp.so.1 beside it ($ORIGIN rpath). Offline:
// node-gyp gets the headers of the running Node (--nodedir), never a download. Needs g++ and Debian's
// OpenBLAS static library:  apt-get install -y g++ libopenblas-dev
// `--optional` (the npm install script): a missing toolchain is reported and the exit status is 0 — Flowloop
// then runs its WebAssembly kernels (core/tensor falls back by itself, and says why in run.json).
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

const here = import.meta.dirname;
const optional = process.argv.includes('--optional');
const OUT = join(here, 'build', 'Release', 'flowloop_native.node');
const BLAS_INC = '/usr/include/x86_64-linux-gnu/openblas-pthread';
const BLAS_LIB = '/usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblas.a';

function fail(why) {
  const msg = `flowloop: native kernels not built: ${why}. WebAssembly kernels will be used (native/build.mjs)`;
  if (optional) {
    console.error(msg);
    process.exit(0);
  }
  console.error(msg);
  process.exit(1);
}

// a packaged copy (npm tarball, VSIX) carries the prebuilt addon and no sources: nothing to build
if (!existsSync(join(here, 'flowloop_native.cc'))) process.exit(0);
if (process.env.FLOWLOOP_NATIVE_BUILD === '0') fail('FLOWLOOP_NATIVE_BUILD=0');
if (process.platform !== 'linux' || process.arch !== 'x64')
  fail(`the native build is for linux-x64 (this is ${process.platform}-${process.arch})`);
if (spawnSync('g++', ['--version'], { stdio: 'ignore' }).status !== 0) fail('g++ not found (apt-get install -y g++)');
if (!existsSync(join(BLAS_INC, 'cblas.h')) || !existsSync(BLAS_LIB))
  fail(`OpenBLAS static library missing (${BLAS_LIB}; apt-get install -y libopenblas-dev)`);

/** node-gyp: the one npm runs install scripts with, else the copy bundled with npm. */
function nodeGyp() {
  const cands = [
    process.env.npm_config_node_gyp,
    join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
    '/usr/share/nodejs/node-gyp/bin/node-gyp.js',
  ];
  try {
    cands.push(
      join(
        dirname(execFileSync('npm', ['root', '-g'], { encoding: 'utf8' }).trim()),
        'node_modules',
        'npm',
        'node_modules',
        'node-gyp',
        'bin',
        'node-gyp.js',
      ),
    );
  } catch {
    /* no npm */
  }
  return cands.find((c) => c && existsSync(c));
}
/** A folder holding include/node/node_api.h for this Node (offline headers). */
function nodeDir() {
  const v = process.versions.node;
  const cands = [resolve(dirname(process.execPath), '..'), '/usr', '/usr/local', join(process.env.HOME ?? '', '.cache', 'node-gyp', v)];
  return cands.find((d) => existsSync(join(d, 'include', 'node', 'node_api.h')) && existsSync(join(d, 'include', 'node', 'common.gypi')));
}
const gyp = nodeGyp();
if (!gyp) fail('node-gyp not found (it ships with npm)');
const nodedir = nodeDir();
if (!nodedir) fail('Node headers not found (include/node/node_api.h: install the nodejs headers, e.g. Debian libnode-dev)');

const r = spawnSync(process.execPath, [gyp, 'rebuild', `--nodedir=${nodedir}`, '--release', '-j', '2'], {
  cwd: here,
  stdio: ['ignore', 'inherit', 'inherit'],
  env: { ...process.env, npm_config_offline: 'true' },
});
if (r.status !== 0 || !existsSync(OUT)) fail(`node-gyp rebuild failed (exit ${r.status})`);

// the OpenMP runtime beside the addon (found by the $ORIGIN rpath)
const gomp = execFileSync('g++', ['-print-file-name=libgomp.so.1'], { encoding: 'utf8' }).trim();
if (!existsSync(gomp)) fail(`libgomp.so.1 not found (g++ -print-file-name gave ${gomp})`);
copyFileSync(gomp, join(here, 'build', 'Release', 'libgomp.so.1'));

// it loads, and needs nothing from the system but libc/libm (the check the VSIX relies on)
const deps = execFileSync('readelf', ['-d', OUT], { encoding: 'utf8' });
const needed = [...deps.matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)].map((m) => m[1]);
const unexpected = needed.filter((n) => !/^(libc|libm|libgomp|libpthread|libdl|ld-linux-x86-64)\.so/.test(n));
if (unexpected.length) fail(`the addon needs ${unexpected.join(', ')} (expected only libc, libm and the shipped libgomp)`);
const load = spawnSync(
  process.execPath,
  ['-e', `const m=require(${JSON.stringify(OUT)}); if(!m.sgemm) throw new Error('no sgemm'); console.log(m.version)`],
  { encoding: 'utf8' },
);
if (load.status !== 0)
  fail(`the built addon does not load: ${load.stderr.split('\n').find((l) => /Error/.test(l)) ?? load.stderr.slice(0, 200)}`);
const size = (readFileSync(OUT).length / 1048576).toFixed(1);
console.error(
  `built native/build/Release/flowloop_native.node (version ${load.stdout.trim()}, ${size} MB, OpenBLAS static; needs ${needed.join(', ')})`,
);
