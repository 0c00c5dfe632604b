/**
 * The built-in pages in a real browser (headless Chromium), against a real server serving the
 * example instruments: the index lists every instrument and its "Try it" forms show each kind
 * of answer the right way; the dashboard's charts and counters move with traffic and agree
 * with `/metrics`; no page logs a console error; and both pages pass basic accessibility
 * checks (labels, contrast, keyboard). Screenshots go to `test-output/`.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import type { Locator, Page } from 'playwright-core';
import { copyConfigWithFiles, repoRoot, startServerFromFile, waitUntil } from '../helpers/server.js';
import { keyboardProblems, lowContrastText, openBrowser, pageWithErrors, screenshot, unlabelledControls } from './browser.js';

const TEST_TIMEOUT_MS = 60_000;

const server = await startServerFromFile(copyConfigWithFiles(join(repoRoot, 'examples', 'config.json')));
const context = await openBrowser();

/** The card of the instrument at `path` on the index page. */
function cardOf(page: Page, path: string): Locator {
  return page.locator('article.card').filter({ has: page.locator('h3 code', { hasText: new RegExp(`^${path}$`) }) });
}

/** Opens the card's "Try it" form, adjusts it with `fill`, sends it and waits for the answer's status line. */
async function tryIt(page: Page, path: string, fill: (card: Locator) => Promise<void> = async () => {}): Promise<Locator> {
  const card = cardOf(page, path);
  await card.locator('summary', { hasText: 'Try it' }).click();
  await fill(card);
  await card.getByRole('button', { name: 'Send' }).click();
  await card.locator('.try-result .status').waitFor();
  return card;
}

/** Checks text contrast in the light and the dark colour scheme, and leaves the page light. */
async function expectReadableInBothSchemes(page: Page): Promise<void> {
  for (const colorScheme of ['dark', 'light'] as const) {
    await page.emulateMedia({ colorScheme });
    assert.deepEqual(await lowContrastText(page), [], `text contrast in the ${colorScheme} scheme`);
  }
}

/** The sum of a metric's samples in `/metrics`. */
async function metricTotal(name: string): Promise<number> {
  const { body } = await server.text('/metrics');
  return body.split('\n').filter((line) => line.startsWith(`${name}{`) || line.startsWith(`${name} `))
    .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
}

describe('the index page', { timeout: TEST_TIMEOUT_MS * 4 }, () => {
  test('lists every instrument under its category, with a "Try it" form offering its methods', { timeout: TEST_TIMEOUT_MS }, async () => {
    const { page, errors } = await pageWithErrors(context);
    await page.goto(`${server.url}/`);
    const listed = await page.locator('article.card h3 code').allTextContents();
    assert.deepEqual([...listed].sort(), Object.keys(server.config.routes).sort());
    for (const route of Object.values(server.config.routes)) {
      const section = page.locator('section').filter({ has: cardOf(page, route.path) });
      assert.equal(await section.locator('h2').textContent(), route.category, `${route.path} is under ${route.category}`);
      const methods = await cardOf(page, route.path).locator('select[name="method"] option').allTextContents();
      for (const method of route.methods) assert.ok(methods.includes(method), `${route.path} offers ${method}`);
    }
    assert.equal(await cardOf(page, '/mandelbrot').locator('input[name="query"]').inputValue(),
      server.config.routes['/mandelbrot']?.example.replace(/^\?/, ''), 'the query is prefilled with the example');
    await screenshot(page, 'index');
    assert.deepEqual(errors, []);
    await page.close();
  });

  test('"Try it" on /mandelbrot shows the image it answers, with status, time and headers', { timeout: TEST_TIMEOUT_MS }, async () => {
    const { page, errors } = await pageWithErrors(context);
    await page.goto(`${server.url}/`);
    const card = await tryIt(page, '/mandelbrot');
    assert.match(await card.locator('.try-result .status').textContent() ?? '', /^200 OK · [\d.]+ ms · [\d.]+ KiB$/);
    const image = card.locator('.try-result img');
    await image.evaluate((element: HTMLImageElement) => element.decode());
    assert.ok(await image.evaluate((element: HTMLImageElement) => element.naturalWidth) > 0);
    await card.locator('.try-result summary', { hasText: 'Response headers' }).click();
    assert.equal(await card.locator('.try-result th', { hasText: /^content-type$/ }).locator('xpath=following-sibling::td').textContent(), 'image/png');
    await card.scrollIntoViewIfNeeded();
    await card.screenshot({ path: join(repoRoot, 'test-output', 'try-it-mandelbrot.png') });
    assert.deepEqual(errors, []);
    await page.close();
  });

  test('"Try it" shows HTML in a frame that may run no script, text as text, and sends a POST body', { timeout: TEST_TIMEOUT_MS }, async () => {
    const { page, errors } = await pageWithErrors(context);
    await page.goto(`${server.url}/`);
    const profile = await tryIt(page, '/profile');
    const frame = profile.locator('.try-result iframe');
    assert.equal(await frame.getAttribute('sandbox'), '', 'an empty sandbox: no scripts, no same origin');
    assert.match(await frame.getAttribute('srcdoc') ?? '', /<html/i);
    assert.ok(await page.frameLocator('article.card iframe').locator('body').textContent(), 'the frame shows the page');

    const hello = await tryIt(page, '/hello_world', async (card) => {
      await card.locator('select[name="method"]').selectOption('POST');
      await card.locator('input[name="query"]').fill('');
      assert.ok(await card.locator('textarea[name="body"]').isVisible(), 'a body can be written for POST');
      await card.locator('textarea[name="body"]').fill('name=<b>Bob</b>');
    });
    const text = hello.locator('.try-result pre');
    assert.match(await text.textContent() ?? '', /<b>Bob<\/b>/, 'the answer is shown as text, markup and all');
    assert.equal(await hello.locator('.try-result b').count(), 0, 'and never as markup');

    const get = cardOf(page, '/hello_world');
    await get.locator('select[name="method"]').selectOption('GET');
    assert.ok(!(await get.locator('textarea[name="body"]').isVisible()), 'GET has no body field');
    assert.deepEqual(errors, []);
    await page.close();
  });

  test('is accessible: labelled controls, readable contrast, every control reachable by keyboard with a visible focus', { timeout: TEST_TIMEOUT_MS }, async () => {
    const { page, errors } = await pageWithErrors(context);
    await page.goto(`${server.url}/`);
    await tryIt(page, '/hello_world');
    await page.evaluate(() => document.querySelectorAll('details').forEach((details) => {
      details.open = true;
    }));
    assert.deepEqual(await unlabelledControls(page), []);
    await expectReadableInBothSchemes(page);
    const { unreached, invisibleFocus } = await keyboardProblems(page);
    assert.deepEqual(unreached, [], 'every control is reachable with Tab');
    assert.deepEqual(invisibleFocus, [], 'every focused control shows it');
    assert.deepEqual(errors, []);
    await page.close();
  });
});

describe('the monitoring dashboard', { timeout: TEST_TIMEOUT_MS * 3 }, () => {
  test('its charts and counters change with traffic, agree with /metrics, and follow the route selector', { timeout: TEST_TIMEOUT_MS }, async () => {
    const { page, errors } = await pageWithErrors(context);
    await page.goto(`${server.url}/monitoring`);
    await page.locator('#chart-requests canvas').waitFor();
    await page.waitForFunction(() => document.getElementById('updated')?.textContent !== '…');
    const requestsChart = (): Promise<string> =>
      page.evaluate(() => (document.querySelector('#chart-requests canvas') as HTMLCanvasElement).toDataURL());
    const chartBefore = await requestsChart();
    const countBefore = await page.locator('#stat-requests').textContent();

    const traffic = Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? `/fibonacci?n=${i}` : '/hello_world?name=Load'));
    for (const path of traffic) {
      const response = await server.request(path);
      assert.equal(response.status, 200, path);
      await response.arrayBuffer();
    }
    const total = await metricTotal('wasio_http_requests_total');
    await page.waitForFunction((expected) => document.getElementById('stat-requests')?.textContent === String(expected), total);
    assert.notEqual(await page.locator('#stat-requests').textContent(), countBefore);
    await waitUntil(async () => (await requestsChart()) !== chartBefore, 'the requests chart to draw the traffic', 10_000, 200);
    await page.waitForFunction(() => Number(document.getElementById('stat-rps')?.textContent) > 0);

    await page.locator('#route-select').selectOption('/fibonacci');
    const fibonacci = String((await (await server.request('/stats')).json() as { routes: Record<string, { requests: number }> }).routes['/fibonacci']?.requests);
    await page.waitForFunction((expected) => document.getElementById('stat-requests')?.textContent === expected, fibonacci);
    assert.ok(Number(await page.locator('#stat-requests').textContent()) < total, 'the counters are the route\'s own');
    const rows = await page.locator('#routes th code').allTextContents();
    assert.ok(rows.includes('/fibonacci') && rows.includes('/hello_world'), `the routes table lists the traffic: ${rows.join(', ')}`);
    await page.locator('#route-select').selectOption('');
    await page.waitForFunction((expected) => document.getElementById('stat-requests')?.textContent === String(expected), total);
    await screenshot(page, 'monitoring');
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.evaluate(() => new Promise(requestAnimationFrame));
    await screenshot(page, 'monitoring-dark');
    assert.deepEqual(errors, []);
    await page.close();
  });

  test('is accessible: labelled controls, readable contrast, every control reachable by keyboard with a visible focus', { timeout: TEST_TIMEOUT_MS }, async () => {
    const { page, errors } = await pageWithErrors(context);
    await page.goto(`${server.url}/monitoring`);
    await page.locator('#chart-workers canvas').waitFor();
    assert.deepEqual(await unlabelledControls(page), []);
    await expectReadableInBothSchemes(page);
    const { unreached, invisibleFocus } = await keyboardProblems(page);
    assert.deepEqual(unreached, [], 'every control is reachable with Tab');
    assert.deepEqual(invisibleFocus, [], 'every focused control shows it');
    assert.deepEqual(errors, []);
    await page.close();
  });
});
