// Shared harness for the extension tests: a real VS Code extension host = code-server 4.100.3 (VS Code
// 1.100.3) installed by .ci/install-test-host.sh into .vscode-test/code-server, driven by Debian Chromium
// through playwright-core (docs/testing.md "Real VS Code extension host"). Everything it starts is
// killed in stop(): the server runs in its own process group, and every descendant (extension host,
// Flowloop workers) is found through /proc and killed too.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { launchChromium } from '../../harness/chromium.mjs';

export const ROOT = resolve(import.meta.dirname, '..', '..');
export const CODE_SERVER = join(ROOT, '.vscode-test', 'code-server', 'node_modules', '.bin', 'code-server');
const CODE_SERVER_DIR = join(ROOT, '.vscode-test', 'code-server', 'node_modules', 'code-server');
/** How long the workbench page may take to load (page.goto): under a busy CPU it is minutes, not playwright's 30 s. */
export const GOTO_MS = 180000;
/** Where the UI and packaging checks leave their screenshots, logs and records. */
export const ARTIFACTS = join(ROOT, 'test-artifacts');

/** User settings for tests (docs/testing.md): no updates, telemetry, marketplace, welcome page or schema downloads. */
export const TEST_SETTINGS = {
  'extensions.autoUpdate': false,
  'extensions.autoCheckUpdates': false,
  'update.mode': 'none',
  'telemetry.telemetryLevel': 'off',
  'workbench.startupEditor': 'none',
  'json.schemaDownload.enable': false,
  'workbench.enableExperiments': false,
  'extensions.ignoreRecommendations': true,
  'workbench.tips.enabled': false,
  'chat.disableAIFeatures': true,
  'npm.fetchOnlinePackageInfo': false,
  'security.workspace.trust.enabled': false,
  'window.commandCenter': false,
};

export function freePort() {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });
}

/** Descendants of pid via /proc (Linux), children first. */
export function descendants(pid) {
  const table = new Map();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const st = readFileSync(`/proc/${name}/stat`, 'utf8');
      table.set(Number(name), Number(st.slice(st.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      /* gone */
    }
  }
  const out = [];
  const queue = [pid];
  while (queue.length) {
    const p = queue.shift();
    for (const [c, pp] of table)
      if (pp === p && !out.includes(c)) {
        out.push(c);
        queue.push(c);
      }
  }
  return out;
}

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Rewrite relative paths of a config that exist beside `fromDir` so they resolve the same from `toDir`. */
export function retarget(v, fromDir, toDir) {
  if (typeof v === 'string') {
    if (isAbsolute(v) || !/[\\/]|\.\w+$/.test(v) || /^[a-z]+:\/\//i.test(v)) return v;
    const abs = resolve(fromDir, v);
    if (!existsSync(abs)) return v;
    const rel = relative(toDir, abs).split(sep).join('/');
    return rel.startsWith('.') ? rel : `./${rel}`;
  }
  if (Array.isArray(v)) return v.map((x) => retarget(x, fromDir, toDir));
  if (v && typeof v === 'object')
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, k === '$schema' ? x : retarget(x, fromDir, toDir)]));
  return v;
}

/**
 * A fresh workspace in a temp folder: the fixtures of test/extension/workspace/ (their relative data
 * paths retargeted to the new place), and the project's examples/quick.flowloop.json, when it exists,
 * as example-quick.flowloop.json (the "running an example" test runs it; other tests use the fixtures).
 */
export function makeWorkspace(tmp) {
  const ws = join(tmp, 'workspace');
  const fixtures = join(ROOT, 'test', 'extension', 'workspace');
  mkdirSync(ws, { recursive: true });
  const configs = readdirSync(fixtures)
    .filter((f) => f.endsWith('.flowloop.json'))
    .map((f) => [join(fixtures, f), f]);
  const quick = join(ROOT, 'examples', 'quick.flowloop.json');
  if (existsSync(quick)) configs.push([quick, 'example-quick.flowloop.json']);
  for (const [file, name] of configs) {
    const text = readFileSync(file, 'utf8');
    let out = text;
    try {
      out = JSON.stringify(retarget(JSON.parse(text), dirname(file), ws), null, 2) + '\n';
    } catch {
      /* a deliberately broken fixture is copied as is */
    }
    writeFileSync(join(ws, name), out);
  }
  return ws;
}

/**
 * Start code-server on a free loopback port; resolves when /healthz answers. `wrap(cmd, args)` may return
 * another [cmd, args] that execs it (e.g. inside a mount namespace: test/extension/vsix.mjs). Under a busy
 * CPU code-server's own start can give up: its parent process waits 10 s for the child's handshake (code-server
 * out/node/wrapper.js, not configurable), then exits 1 "error timed out". So without `wrap` the server is started
 * by codeServerParent.cjs (the same handshake, no time limit); with `wrap` a timed-out start is retried (3 starts).
 */
export async function startCodeServer(opts) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startCodeServerOnce(opts);
    } catch (e) {
      if (attempt >= 3 || !/code-server exited \(1\):[\s\S]*timed out/.test(e.message)) throw e;
      console.log(`code-server did not start (its 10 s handshake timed out, start ${attempt} of 3); again`);
    }
  }
}

async function startCodeServerOnce({ tmp, workspace, env = {}, untrusted = false, wrap }) {
  if (!existsSync(CODE_SERVER)) throw new Error(`code-server missing (${CODE_SERVER}): run bash .ci/install-test-host.sh`);
  const port = await freePort();
  const userData = join(tmp, 'user-data');
  mkdirSync(join(userData, 'User'), { recursive: true });
  const settings = untrusted
    ? {
        ...TEST_SETTINGS,
        'security.workspace.trust.enabled': true,
        'security.workspace.trust.startupPrompt': 'never',
        'security.workspace.trust.banner': 'never',
      }
    : TEST_SETTINGS;
  writeFileSync(join(userData, 'User', 'settings.json'), JSON.stringify(settings, null, 2));
  const args = [
    '--config',
    '/dev/null',
    '--auth',
    'none',
    '--bind-addr',
    `127.0.0.1:${port}`,
    '--user-data-dir',
    userData,
    '--extensions-dir',
    join(tmp, 'extensions'),
    '--disable-telemetry',
    '--disable-update-check',
    ...(untrusted ? [] : ['--disable-workspace-trust']),
    '--disable-getting-started-override',
    workspace,
  ];
  // without a wrapper: our own parent process (codeServerParent.cjs), whose handshake with the server has no 10 s limit
  const [cmd, argv] = wrap
    ? wrap(CODE_SERVER, args)
    : [process.execPath, [join(import.meta.dirname, 'codeServerParent.cjs'), CODE_SERVER_DIR, ...args]];
  const server = spawn(cmd, argv, {
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
    env: { ...process.env, EXTENSIONS_GALLERY: '{}', ...env },
  });
  let log = '';
  server.stdout.on('data', (d) => {
    log += d;
  });
  server.stderr.on('data', (d) => {
    log += d;
  });
  const t0 = Date.now();
  for (;;) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/healthz`)).ok) break;
    } catch {
      /* not yet */
    }
    if (server.exitCode !== null) throw new Error(`code-server exited (${server.exitCode}):\n${log}`);
    if (Date.now() - t0 > 60000) throw new Error(`code-server did not answer in 60 s:\n${log}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    port,
    userData,
    workspace,
    server,
    authority: `127.0.0.1:${port}`,
    log: () => log,
    /** Kill the server, its extension host and any worker: SIGTERM to all, then SIGKILL; returns leftovers. */
    async stop() {
      const pids = [server.pid, ...descendants(server.pid)];
      for (const sig of ['SIGTERM', 'SIGKILL']) {
        try {
          process.kill(-server.pid, sig);
        } catch {
          /* group gone */
        }
        for (const p of pids) {
          try {
            process.kill(p, sig);
          } catch {
            /* gone */
          }
        }
        for (let i = 0; i < 30 && pids.some(alive); i++) await new Promise((r) => setTimeout(r, 100));
      }
      return pids.filter(alive);
    },
  };
}

export async function launchBrowser() {
  return launchChromium(['--disable-dev-shm-usage']);
}

/**
 * The workbench as a person sees it, for the UI checks: code-server on `workspace` (its user data under `tmp`)
 * and a 1600×1000 Chromium page on it. `start()` brings them up and loads the workbench (minutes under load),
 * returning the page; `stop()` closes the browser and stops the server, returning the processes still alive.
 * `host` and `browser` are set as each comes up, so stop() ends whatever started even when start() failed.
 */
export function uiSession({ tmp, workspace }) {
  const s = {
    host: undefined,
    browser: undefined,
    async start() {
      s.host = await startCodeServer({ tmp, workspace });
      s.browser = await launchBrowser();
      const page = await s.browser.newPage({ viewport: { width: 1600, height: 1000 } });
      await page.goto(workbenchUrl(s.host), { timeout: GOTO_MS }); // the workbench's first load: minutes under load
      return page;
    },
    async stop() {
      await s.browser?.close().catch(() => {});
      return s.host?.stop();
    },
  };
  return s;
}

/**
 * Runs named checks into `results`: `check(name, fn)` records `${prefix}: ${name}` as passed, or failed with the
 * first `errorLines` lines of its error (then awaits `onFailure(name)`, e.g. a screenshot), and returns whether
 * it passed.
 */
export function checkRunner(results, prefix, { errorLines = 6, onFailure } = {}) {
  return async (name, fn) => {
    const s = Date.now();
    try {
      await fn();
      results.push({ name: `${prefix}: ${name}`, ok: true, ms: Date.now() - s });
      return true;
    } catch (e) {
      const error = e.message.split('\n').slice(0, errorLines).join('\n');
      results.push({ name: `${prefix}: ${name}`, ok: false, ms: Date.now() - s, error });
      await onFailure?.(name);
      return false;
    }
  };
}

/** Workbench URL with a payload (extensionDevelopmentPath, optional extensionTestsPath). */
export function workbenchUrl(host, { extensionTestsPath } = {}) {
  // FLOWLOOP_EXT_PATH: test a snapshot of the extension folder instead of the working tree (development)
  const ext = process.env.FLOWLOOP_EXT_PATH || ROOT;
  const payload = [['extensionDevelopmentPath', `vscode-remote://${host.authority}${ext}`]];
  if (extensionTestsPath) payload.push(['extensionTestsPath', `vscode-remote://${host.authority}${extensionTestsPath}`]);
  return `http://${host.authority}/?folder=${encodeURIComponent(host.workspace)}&payload=${encodeURIComponent(JSON.stringify(payload))}`;
}

export function tempDir(prefix) {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function removeDir(p) {
  try {
    rmSync(p, { recursive: true, force: true });
  } catch {
    /* best effort */
  }
}

/** Newest run folder's run.json under a workspace (or undefined). */
export function latestRun(workspace) {
  const root = join(workspace, '.flowloop', 'runs');
  if (!existsSync(root)) return undefined;
  const dirs = readdirSync(root)
    .map((n) => join(root, n))
    .filter((d) => existsSync(join(d, 'run.json')))
    .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
  if (!dirs.length) return undefined;
  try {
    return { dir: dirs[0], info: JSON.parse(readFileSync(join(dirs[0], 'run.json'), 'utf8')) };
  } catch {
    return undefined;
  }
}

/**
 * Clicks ▶ Run until a new run of `name` is running, waiting on its run folder (never a fixed time): under
 * load a click can land on a CodeLens that is being re-rendered and be lost, so it is repeated while no
 * ■ Stop lens shows and no new run folder appeared (at most 6 clicks, 15 s apart; 180 s in all).
 */
export async function startByLens(page, workspace, name, deadlineMs = 180000) {
  const t1 = Date.now();
  const since = new Date(t1 - 1000).toISOString();
  let clicks = 0,
    lastClick = 0;
  for (;;) {
    const r = latestRun(workspace);
    const fresh = r && r.info.name === name && r.info.startedAt >= since;
    if (fresh && r.info.status === 'running') return r;
    if (fresh && r.info.status !== 'running')
      throw new Error(`the ${name} run ended ${r.info.status} before the test acted: ${r.info.error ?? ''}`);
    const stopShown = await page.locator('.codelens-decoration a', { hasText: '■ Stop' }).count();
    if (!fresh && !stopShown && clicks < 6 && Date.now() - lastClick > 15000) {
      await page
        .locator('.codelens-decoration a', { hasText: '▶ Run' })
        .first()
        .click({ timeout: 10000 })
        .catch(() => {});
      clicks++;
      lastClick = Date.now();
    }
    if (Date.now() - t1 > deadlineMs)
      throw new Error(`the ${name} run did not start in ${deadlineMs / 1000} s (${clicks} clicks on ▶ Run)`);
    await page.waitForTimeout(200);
  }
}
