// The headless Chromium that the browser tests drive: the webview pages (harness/webviewPage.ts) and
// code-server's workbench (test/extension/host.mjs). Debian's /usr/bin/chromium (CHROMIUM names another)
// through playwright-core, offline and quiet: no sandbox (containers), no GPU, no background network,
// component updates, sync, first-run pages or QUIC. Plain JavaScript so that the Node scripts of the extension
// runner import it as it is; chromium.d.mts types it for the TypeScript side.
import { chromium } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

/** Launches CHROMIUM headless with CHROMIUM_ARGS, then `extraArgs`. */
export function launchChromium(extraArgs = []) {
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: [...CHROMIUM_ARGS, ...extraArgs] });
}
