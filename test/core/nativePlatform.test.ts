/**
 * The packaged native kernels are linux-x64 only (native/binding.gyp): on any other platform the worker runs
 * the WebAssembly kernels and the backend's reason — what run.json and the Output channel show — says why.
 * The platform is faked in a child process before core/tensor loads.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..', '..');

function reasonOn(platform: string, arch: string): { status: number | null; out: string; err: string } {
  const code = `Object.defineProperty(process, 'platform', { value: ${JSON.stringify(platform)} });
    Object.defineProperty(process, 'arch', { value: ${JSON.stringify(arch)} });
    const { initBackend } = require(${JSON.stringify(join(root, 'core', 'tensor', 'index.ts'))});
    initBackend('auto').then((b) => { process.stdout.write(JSON.stringify(b.name + ': ' + b.reason)); });`;
  const { FLOWLOOP_NATIVE: _n, ...env } = process.env;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '-e', code], { cwd: root, encoding: 'utf8', timeout: 120000, env });
  return { status: r.status, out: r.stdout, err: r.stderr };
}

test('on darwin-arm64 the WebAssembly kernels run and the backend reason says the native ones are linux-x64 only', () => {
  const r = reasonOn('darwin', 'arm64');
  assert.equal(r.status, 0, r.err.slice(-800));
  const reason = JSON.parse(r.out) as string;
  assert.match(reason, /^wasm: /, reason);
  assert.match(reason, /no native kernels for darwin-arm64 \(the packaged addon is linux-x64 only\): WebAssembly kernels/, reason);
});
