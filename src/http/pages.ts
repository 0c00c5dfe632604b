/**
 * The built-in pages: the instrument index at `/`, with a "Try it" form on every card, and the
 * monitoring dashboard. Plain HTML with inline CSS; their scripts and uPlot are served by the
 * server itself (`assets.ts`), so the pages work on a host with no internet access.
 */
import type { Config, RouteConfig } from '../config/index.js';
import { ASSET_PATHS } from './assets.js';
import { allowedMethods } from './instrument-handler.js';

/** `text` safe inside HTML text and quoted attribute values: `& < > " '` as character references. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}

// Colours meet WCAG AA (4.5:1) for text on the page background in both schemes; every control
// shows a focus ring.
const STYLE = `
  :root { color-scheme: light dark; --fg: #1d1f23; --bg: #fdfdfd; --muted: #50555e; --line: #d5d8dd; --accent: #0b57d0; --on-accent: #ffffff;
    --panel: #f1f3f5; --ok: #146c2e; --failed: #b3261e;
    --chart-1: #0b57d0; --chart-2: #c5221f; --chart-3: #188038; --chart-4: #b06000; --chart-5: #8430ce; }
  @media (prefers-color-scheme: dark) { :root { --fg: #e8eaed; --bg: #16181c; --muted: #b4b8bf; --line: #3a3f46; --accent: #8ab4f8; --on-accent: #16181c;
    --panel: #202329; --ok: #81c995; --failed: #f28b82;
    --chart-1: #8ab4f8; --chart-2: #f28b82; --chart-3: #81c995; --chart-4: #fdd663; --chart-5: #d7aefb; } }
  body { font: 16px/1.5 system-ui, sans-serif; color: var(--fg); background: var(--bg); margin: 0 auto; max-width: 80rem; padding: 1.5rem; }
  h1 { margin-top: 0; } h2 { margin-top: 2rem; border-bottom: 1px solid var(--line); }
  a { color: var(--accent); }
  table { border-collapse: collapse; width: 100%; } th, td { text-align: left; padding: .4rem .6rem; border-bottom: 1px solid var(--line); }
  .muted { color: var(--muted); } code { font-size: .95em; }
  .cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(22rem, 1fr)); gap: 1rem; }
  .card { border: 1px solid var(--line); border-radius: .5rem; padding: 1rem; min-width: 0; }
  .card h3 { margin: 0 0 .25rem; font-size: 1.1rem; } .card p { overflow-wrap: anywhere; }
  .card:has(details[open]) { grid-column: 1 / -1; }
  a:focus-visible, button:focus-visible, input:focus-visible, select:focus-visible, textarea:focus-visible, summary:focus-visible {
    outline: 3px solid var(--accent); outline-offset: 2px; }
  input, select, textarea, button { font: inherit; color: var(--fg); background: var(--bg); border: 1px solid var(--muted); border-radius: .3rem; padding: .3rem .5rem; }
  button { background: var(--accent); color: var(--on-accent); border-color: var(--accent); cursor: pointer; font-weight: 600; }
  summary { cursor: pointer; color: var(--accent); font-weight: 600; }
  .try-it { display: grid; gap: .5rem; margin-top: .5rem; max-width: 48rem; }
  .try-it label { display: block; font-size: .9rem; color: var(--muted); }
  .try-it input, .try-it select, .try-it textarea { width: 100%; box-sizing: border-box; }
  .try-it .body-fields { display: grid; gap: .5rem; } .try-it .body-fields[hidden] { display: none; }
  .try-result:empty { display: none; }
  .try-result { margin-top: .75rem; border-top: 1px solid var(--line); padding-top: .5rem; }
  .try-result .status { font-weight: 600; margin: 0 0 .25rem; } .status.ok { color: var(--ok); } .status.failed { color: var(--failed); }
  .try-result pre { background: var(--panel); padding: .5rem; overflow: auto; max-height: 24rem; white-space: pre-wrap; word-break: break-word; }
  .try-result img { max-width: 100%; height: auto; display: block; }
  .try-result iframe { width: 100%; height: 20rem; border: 1px solid var(--line); background: #ffffff; }
  .try-result table { font-size: .85rem; } .try-result th, .try-result td { padding: .15rem .4rem; vertical-align: top; }
  .try-result th { white-space: nowrap; width: 1%; } .try-result td { overflow-wrap: anywhere; }
  .tiles { display: grid; grid-template-columns: repeat(auto-fill, minmax(10rem, 1fr)); gap: .75rem; margin: 1rem 0; padding: 0; }
  .tile { border: 1px solid var(--line); border-radius: .5rem; padding: .5rem .75rem; margin: 0; }
  .tile dt { font-size: .85rem; color: var(--muted); } .tile dd { margin: 0; font-size: 1.5rem; font-weight: 600; font-variant-numeric: tabular-nums; }
  .charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(28rem, 1fr)); gap: 1rem; }
  .charts figure { margin: 0; border: 1px solid var(--line); border-radius: .5rem; padding: .5rem; min-width: 0; }
  .charts figcaption { font-weight: 600; margin-bottom: .25rem; }
  .chart { width: 100%; } .uplot { color: var(--fg); }
  .toolbar { display: flex; flex-wrap: wrap; gap: 1rem; align-items: center; }
`;

function page(title: string, body: string, head = ''): string {
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title><link rel="icon" href="data:,"><style>${STYLE}</style>${head}</head>
<body>${body}</body></html>`;
}

function hasParameters(route: RouteConfig): boolean {
  return route.path.includes(':') || route.path.includes('*');
}

function exampleQuery(route: RouteConfig): string {
  return route.example.replace(/^\?/, '');
}

function exampleHref(route: RouteConfig): string | undefined {
  if (hasParameters(route)) return undefined;
  const example = exampleQuery(route);
  return example === '' ? route.path : `${route.path}?${example}`;
}

/** The "Try it" form of one card; `id` makes its controls' ids unique on the page. */
function tryItForm(route: RouteConfig, id: string): string {
  const methods = allowedMethods(route).map((method) => `<option>${escapeHtml(method)}</option>`).join('');
  return `<details class="try">
  <summary>Try it</summary>
  <form class="try-it" data-route="${escapeHtml(route.path)}">
    <div><label for="${id}-method">Method</label><select id="${id}-method" name="method">${methods}</select></div>
    <div><label for="${id}-path">Path</label><input id="${id}-path" name="path" value="${escapeHtml(route.path)}" spellcheck="false"></div>
    <div><label for="${id}-query">Query</label><input id="${id}-query" name="query" value="${escapeHtml(exampleQuery(route))}" spellcheck="false"></div>
    <div class="body-fields">
      <div><label for="${id}-content-type">Content-Type</label><input id="${id}-content-type" name="content-type" value="application/x-www-form-urlencoded" spellcheck="false"></div>
      <div><label for="${id}-body">Body</label><textarea id="${id}-body" name="body" rows="4" spellcheck="false"></textarea></div>
    </div>
    <div><button type="submit">Send</button></div>
  </form>
  <div class="try-result" aria-live="polite"></div>
</details>`;
}

function card(route: RouteConfig, cacheTtl: number, id: string): string {
  const href = exampleHref(route);
  const cache = route.cache ? `cached, TTL ${route.ttl || cacheTtl} s` : 'not cached';
  return `<article class="card" aria-labelledby="${id}-title">
  <h3 id="${id}-title"><code>${escapeHtml(route.path)}</code></h3>
  <p>${escapeHtml(route.description || 'No description.')}</p>
  <p class="muted">${escapeHtml(route.methods.join(', '))} · ${escapeHtml(cache)}</p>
  ${href === undefined ? '' : `<p>Example: <a href="${escapeHtml(href)}">${escapeHtml(href)}</a></p>`}
  ${tryItForm(route, id)}
</article>`;
}

/** The index: every instrument, grouped by category, each with its example and a "Try it" form. */
export function renderIndexPage(config: Config): string {
  const byCategory = new Map<string, RouteConfig[]>();
  for (const route of Object.values(config.routes)) {
    const category = route.category || 'Other';
    byCategory.set(category, [...(byCategory.get(category) ?? []), route]);
  }
  let cardNumber = 0;
  const sections = [...byCategory.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([category, routes]) => `<section><h2>${escapeHtml(category)}</h2><div class="cards">${
      routes.sort((a, b) => a.path.localeCompare(b.path)).map((route) => card(route, config.cache_ttl, `route-${++cardNumber}`)).join('\n')}</div></section>`)
    .join('\n');
  const count = Object.keys(config.routes).length;
  const links = config.monitoring
    ? ' <a href="/monitoring">Monitoring</a> · <a href="/stats">Stats (JSON)</a> · <a href="/metrics">Metrics</a> ·'
    : '';
  return page('WASIO instruments', `<header><h1>WASIO</h1>
<p>${count} instrument${count === 1 ? '' : 's'} served from WebAssembly.${links} <a href="/health">Health</a></p></header>
<main>${sections || '<p>No routes configured.</p>'}</main>`, `<script src="${ASSET_PATHS.indexScript}" defer></script>`);
}

const TILES: readonly (readonly [id: string, label: string])[] = [
  ['stat-requests', 'Requests'], ['stat-rps', 'Requests/s (10 s)'], ['stat-p50', 'p50 ms'], ['stat-p95', 'p95 ms'],
  ['stat-p99', 'p99 ms'], ['stat-errors', 'Errors'], ['stat-cache', 'Cache hit rate'], ['stat-workers', 'Busy workers'],
  ['stat-queue', 'Queued'],
];

const CHARTS: readonly (readonly [id: string, caption: string])[] = [
  ['chart-requests', 'Requests and errors per second'], ['chart-latency', 'Latency percentiles (ms)'],
  ['chart-cache', 'Cache hit rate (%)'], ['chart-workers', 'Workers and queue'],
];

/**
 * The monitoring dashboard: live numbers and charts for every request or one route, drawn by
 * `browser/monitoring-client.ts` from `?format=json`, which it polls every two seconds.
 */
export function renderMonitoringPage(config: Config): string {
  const routeOptions = Object.keys(config.routes).sort()
    .map((path) => `<option value="${escapeHtml(path)}">${escapeHtml(path)}</option>`).join('');
  const tiles = TILES.map(([id, label]) => `<div class="tile"><dt>${label}</dt><dd id="${id}">–</dd></div>`).join('');
  const charts = CHARTS.map(([id, caption]) =>
    `<figure><figcaption id="${id}-caption">${caption}</figcaption><div class="chart" id="${id}" role="img" aria-labelledby="${id}-caption"></div></figure>`).join('');
  const head = `<link rel="stylesheet" href="${ASSET_PATHS.uplotStyle}"><script src="${ASSET_PATHS.uplotScript}" defer></script>` +
    `<script src="${ASSET_PATHS.monitoringScript}" defer></script>`;
  return page('WASIO monitoring', `<header><h1>Monitoring</h1>
<div class="toolbar">
  <div><label for="route-select">Route</label> <select id="route-select"><option value="">All routes</option>${routeOptions}</select></div>
  <p class="muted">Updated <span id="updated">…</span> · <a href="/">Instruments</a> · <a href="/monitoring?format=json">JSON</a> · <a href="/metrics">Metrics</a></p>
</div></header>
<main>
<dl class="tiles" aria-label="Last ten seconds">${tiles}</dl>
<div class="charts">${charts}</div>
<h2>Server</h2>
<table aria-label="Server summary"><tbody>
<tr><th scope="row">Uptime</th><td id="stat-uptime">–</td></tr>
<tr><th scope="row">Response cache</th><td id="stat-response-cache">–</td></tr>
<tr><th scope="row">Modules</th><td id="stat-modules">–</td></tr>
<tr><th scope="row">Workers replaced</th><td id="stat-replaced">–</td></tr>
</tbody></table>
<h2>Routes</h2>
<table aria-label="Routes"><thead><tr><th scope="col">Route</th><th scope="col">Requests</th><th scope="col">Errors</th><th scope="col">Req/s</th><th scope="col">Avg ms</th><th scope="col">p95 ms</th><th scope="col">Max ms</th><th scope="col">Cache hit/miss</th></tr></thead>
<tbody id="routes"></tbody></table>
</main>`, head);
}
