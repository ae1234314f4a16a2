/**
 * The CLI as an npm package: `npm pack` gives flowloop-<version>.tgz, which installs globally into a temp
 * prefix OFFLINE (empty npm cache, --offline; inside a network namespace with no network when root can
 * make one) and runs `flowloop --version`, `flowloop demo` and `flowloop doctor` from an empty folder — the
 * embedded demo data and the prebuilt native kernels come from the package, nothing from this checkout.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..', '..');
const version = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version as string;
const nativeBuilt = existsSync(join(root, 'native', 'build', 'Release', 'flowloop_native.node'));
/** `unshare -n` (a network namespace with only a down loopback) works here: root on Linux. */
const noNet = process.platform === 'linux' && spawnSync('unshare', ['-n', 'true'], { stdio: 'ignore' }).status === 0;

function run(
  cmd: string,
  args: string[],
  opts: { cwd: string; env: NodeJS.ProcessEnv; offline?: boolean; timeout?: number },
): SpawnSyncReturns<string> {
  const [c, a] = opts.offline && noNet ? ['unshare', ['-n', cmd, ...args]] : [cmd, args];
  return spawnSync(c, a, { cwd: opts.cwd, env: opts.env, encoding: 'utf8', timeout: opts.timeout ?? 300000, maxBuffer: 64 << 20 });
}
const show = (r: SpawnSyncReturns<string>) =>
  `exit ${r.status}${r.signal ? ` (${r.signal})` : ''}\n--- stdout\n${r.stdout?.slice(-1500)}\n--- stderr\n${r.stderr?.slice(-1500)}`;

test(
  `npm pack → npm install -g offline → flowloop --version, demo and doctor in an empty folder${noNet ? ' (inside a network namespace with no network)' : ' (--offline only: unshare -n unavailable here)'}`,
  { timeout: 900000 },
  () => {
    assert.ok(existsSync(join(root, 'dist', 'cli.js')), 'dist/cli.js missing: run node esbuild.js first');
    const tmp = mkdtempSync(join(tmpdir(), 'flowloop-pack-'));
    try {
      const { FLOWLOOP_NATIVE: _n, OPENAI_BASE_URL: _u, ...inherited } = process.env;
      const env: NodeJS.ProcessEnv = {
        ...inherited,
        HOME: join(tmp, 'home'),
        npm_config_cache: join(tmp, 'npm-cache'),
        npm_config_update_notifier: 'false',
      };
      mkdirSync(env.HOME!, { recursive: true });
      const pack = run('npm', ['pack', '--ignore-scripts', '--pack-destination', tmp], { cwd: root, env });
      assert.equal(pack.status, 0, `npm pack failed: ${show(pack)}`);
      const tgz = join(tmp, `flowloop-${version}.tgz`);
      assert.ok(existsSync(tgz), `no ${tgz} (have ${readdirSync(tmp).join(', ')})`);

      const prefix = join(tmp, 'prefix');
      const install = run('npm', ['install', '-g', '--prefix', prefix, '--offline', '--no-audit', '--no-fund', tgz], {
        cwd: tmp,
        env,
        offline: true,
      });
      assert.equal(install.status, 0, `offline global install failed: ${show(install)}`);
      const bin = join(prefix, 'bin', 'flowloop');
      assert.ok(existsSync(bin), `no ${bin} after the install`);
      const pkgDir = join(prefix, 'lib', 'node_modules', 'flowloop');
      assert.ok(!existsSync(join(pkgDir, 'node_modules')), 'the installed package has a node_modules: something was fetched');

      const empty = join(tmp, 'empty');
      mkdirSync(empty);
      const v = run(bin, ['--version'], { cwd: empty, env, offline: true });
      assert.equal(v.status, 0, show(v));
      assert.equal(v.stdout.trim(), version);

      const demo = run(bin, ['demo'], { cwd: empty, env, offline: true, timeout: 600000 });
      assert.equal(demo.status, 0, `flowloop demo failed: ${show(demo)}`);
      const runDir = /^run: (.+)$/m.exec(demo.stdout)?.[1];
      assert.ok(runDir && runDir.startsWith(join(empty, '.flowloop', 'runs')), `no run folder under the empty folder in:\n${demo.stdout}`);
      const info = JSON.parse(readFileSync(join(runDir, 'run.json'), 'utf8'));
      assert.equal(info.status, 'finished');
      assert.match(demo.stdout, /^flower\s+\d/m, 'the results table has no flower row');
      assert.ok(info.configPath.startsWith(pkgDir), `the demo config should come from the package (${info.configPath})`);
      if (nativeBuilt)
        assert.match(
          info.backend.reason,
          /native OpenBLAS kernels/,
          `the package's prebuilt kernels were not used: ${info.backend.reason}`,
        );
      else assert.match(info.backend.reason, /native kernels not built/, info.backend.reason);
      console.log(`# packaged demo: ${(info.durationMs / 1000).toFixed(1)} s, ${info.backend.name}: ${info.backend.reason.split(' (')[0]}`);

      const doc = run(bin, ['doctor', '--timeout', '1500'], { cwd: empty, env, offline: true, timeout: 120000 });
      assert.equal(doc.status, 0, `flowloop doctor failed: ${show(doc)}`);
      for (const name of ['flowloop', 'backend', 'kernels', 'tokenizer', 'onnx', 'gpu', 'data', 'llm']) {
        assert.match(doc.stdout, new RegExp(`^(ok|warn|fail)\\s+${name}\\s`, 'm'), `doctor has no ${name} line:\n${doc.stdout}`);
      }
      assert.match(
        doc.stdout,
        /^warn\s+llm\s+.*not reachable/m,
        `without network the LLM endpoint must be reported unreachable:\n${doc.stdout}`,
      );
      assert.match(doc.stdout, /→ /, 'doctor names what to do for its warnings');
      if (nativeBuilt) assert.match(doc.stdout, /^ok\s+kernels\s+native/m, doc.stdout);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  },
);
