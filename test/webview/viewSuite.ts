/**
 * The setup the webview test files share: one headless Chromium for all of a file's tests (launched before the
 * first, closed after the last) and each view's bundle built once. `viewSuite('loss')` builds the loss bundle
 * beside the launch; a view not named there is bundled when it is first opened.
 */
import { after, before } from 'node:test';
import type { Browser } from 'playwright-core';
import type { ViewName } from '../../webview/contract';
import { bundleView, launch, openView, type OpenOptions, type ViewPage } from '../../harness/webviewPage';

export interface ViewSuite {
  /** Opens a view in a fresh page of the suite's browser. */
  open(view: ViewName, o?: OpenOptions): Promise<ViewPage>;
}

export function viewSuite(...views: ViewName[]): ViewSuite {
  let browser: Browser | undefined;
  const bundles = new Map<ViewName, ReturnType<typeof bundleView>>();
  const bundle = (view: ViewName) => {
    if (!bundles.has(view)) bundles.set(view, bundleView(view));
    return bundles.get(view)!;
  };
  before(async () => {
    [browser] = await Promise.all([launch(), ...views.map(bundle)]);
  });
  after(async () => {
    await browser?.close();
  });
  return {
    async open(view, o) {
      if (!browser) throw new Error('the suite has no browser: open a view inside a test');
      return openView(browser, view, await bundle(view), o);
    },
  };
}
