/**
 * The browser side of the page tests: a headless Chromium driven by playwright-core, with a
 * fresh profile, closed by the `after()` hook of the scope that opened it; a record of every
 * console error and uncaught exception of a page; screenshots into `test-output/`; and the
 * accessibility checks the pages must pass.
 *
 * Chromium is required, not optional: when it is missing the tests fail saying so, rather
 * than skip and leave the pages untested.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { repoRoot } from '../helpers/server.js';

/** Debian's Chromium, which CI installs; `CHROMIUM_PATH` points elsewhere. */
export const chromiumPath = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';

/** Where screenshots go (git-ignored). */
export const screenshotDir = join(repoRoot, 'test-output');

/** Time any one page action may take. */
const ACTION_TIMEOUT_MS = 15_000;

/** Starts Chromium headless with a fresh profile; it is closed by the caller's `after()`. */
export async function openBrowser(): Promise<BrowserContext> {
  if (!existsSync(chromiumPath)) {
    throw new Error(`Chromium is not installed at ${chromiumPath}; the browser tests need it. ` +
      'Install it (apt-get install -y chromium) or set CHROMIUM_PATH to a Chromium or Chrome binary.');
  }
  const profile = mkdtempSync(join(tmpdir(), 'wasio-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
    timeout: 30_000,
    viewport: { width: 1280, height: 900 },
  });
  context.setDefaultTimeout(ACTION_TIMEOUT_MS);
  // The profile goes once Chromium has closed: removed while it still writes there, it is not empty.
  after(async () => {
    await context.close();
    rmSync(profile, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
  });
  return context;
}

/** A new page whose console errors and uncaught exceptions are collected in `errors`. */
export async function pageWithErrors(context: BrowserContext): Promise<{ page: Page; errors: string[] }> {
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(`console: ${message.text()} (${message.location().url})`);
  });
  page.on('pageerror', (error) => errors.push(`uncaught: ${error.message}`));
  return { page, errors };
}

/** Saves a full-page screenshot as `test-output/NAME.png`. */
export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(screenshotDir, { recursive: true });
  await page.screenshot({ path: join(screenshotDir, `${name}.png`), fullPage: true });
}

/** Form controls with no label: neither a `<label for>`, a wrapping label, nor `aria-label(ledby)`. */
export function unlabelledControls(page: Page): Promise<string[]> {
  return page.evaluate(() => Array.from(document.querySelectorAll<HTMLInputElement>('input, select, textarea'))
    .filter((control) => control.type !== 'hidden')
    .filter((control) => (control.labels?.length ?? 0) === 0 && !control.getAttribute('aria-label') && !control.getAttribute('aria-labelledby'))
    .map((control) => control.outerHTML.slice(0, 120)));
}

/**
 * Visible text whose contrast with its background is under `minimum` (WCAG ratio, from the
 * computed colours; the background is the nearest opaque one among the element's ancestors).
 */
export function lowContrastText(page: Page, minimum = 4.5): Promise<string[]> {
  return page.evaluate((least) => {
    const channels = (colour: string): number[] => (colour.match(/[\d.]+/g) ?? []).map(Number);
    const luminance = ([r = 0, g = 0, b = 0]: number[]): number => {
      const linear = (value: number): number => {
        const c = value / 255;
        return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
      };
      return 0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b);
    };
    const background = (element: Element | null): number[] => {
      for (let node = element; node !== null; node = node.parentElement) {
        const value = channels(getComputedStyle(node).backgroundColor);
        if (value.length === 3 || (value[3] ?? 0) >= 1) return value;
      }
      return [255, 255, 255];
    };
    const failures: string[] = [];
    for (const element of Array.from(document.querySelectorAll('body *'))) {
      const hasText = Array.from(element.childNodes).some((node) => node.nodeType === Node.TEXT_NODE && node.textContent?.trim());
      if (!hasText || element.getClientRects().length === 0 || element.closest('[hidden], details:not([open]) > :not(summary)')) continue;
      const foreground = luminance(channels(getComputedStyle(element).color));
      const behind = luminance(background(element));
      const ratio = (Math.max(foreground, behind) + 0.05) / (Math.min(foreground, behind) + 0.05);
      if (ratio < least) failures.push(`${ratio.toFixed(2)}: <${element.tagName.toLowerCase()}> ${element.textContent?.trim().slice(0, 60)}`);
    }
    return failures;
  }, minimum);
}

/**
 * Presses Tab through the page and returns the visible, enabled controls it never reached and
 * the ones that showed no focus indicator (outline or box shadow) when focused.
 */
export async function keyboardProblems(page: Page): Promise<{ unreached: string[]; invisibleFocus: string[] }> {
  const controls = await page.evaluate(() => {
    const focusable = 'a[href], button, input, select, textarea, summary, [tabindex]:not([tabindex="-1"])';
    const all = Array.from(document.querySelectorAll<HTMLElement>(focusable))
      .filter((element) => element.getClientRects().length > 0 && !(element as HTMLButtonElement).disabled);
    all.forEach((element, index) => element.setAttribute('data-tab-check', String(index)));
    return all.length;
  });
  const reached = new Set<string>();
  const invisibleFocus: string[] = [];
  await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
  for (let press = 0; press < controls + 5; press++) {
    await page.keyboard.press('Tab');
    const focused = await page.evaluate(() => {
      const element = document.activeElement as HTMLElement | null;
      if (element === null || element === document.body) return undefined;
      const style = getComputedStyle(element);
      const outlined = style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0;
      const shadowed = style.boxShadow !== 'none';
      return { id: element.getAttribute('data-tab-check'), visible: outlined || shadowed, text: element.outerHTML.slice(0, 100) };
    });
    if (focused === undefined || focused.id === null) continue;
    reached.add(focused.id);
    if (!focused.visible) invisibleFocus.push(focused.text);
  }
  const unreached = await page.evaluate((seen) => Array.from(document.querySelectorAll<HTMLElement>('[data-tab-check]'))
    .filter((element) => !seen.includes(element.getAttribute('data-tab-check') ?? ''))
    .map((element) => element.outerHTML.slice(0, 100)), [...reached]);
  return { unreached, invisibleFocus: [...new Set(invisibleFocus)] };
}
