/**
 * The built-in pages: the instrument index at `/` and the monitoring dashboard. Plain HTML
 * with inline CSS and script, so they work on a host with no internet access.
 */
import type { Config, RouteConfig } from '../config/index.js';

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}

const STYLE = `
  :root { color-scheme: light dark; --fg: #1d1f23; --bg: #fdfdfd; --muted: #50555e; --line: #d5d8dd; --accent: #0b57d0; }
  @media (prefers-color-scheme: dark) { :root { --fg: #e8eaed; --bg: #16181c; --muted: #b4b8bf; --line: #3a3f46; --accent: #8ab4f8; } }
  body { font: 16px/1.5 system-ui, sans-serif; color: var(--fg); background: var(--bg); margin: 0 auto; max-width: 72rem; padding: 1.5rem; }
  h1 { margin-top: 0; } h2 { margin-top: 2rem; border-bottom: 1px solid var(--line); }
  a { color: var(--accent); }
  table { border-collapse: collapse; width: 100%; } th, td { text-align: left; padding: .4rem .6rem; border-bottom: 1px solid var(--line); }
  .muted { color: var(--muted); } code { font-size: .95em; }
  .cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(18rem, 1fr)); gap: 1rem; }
  .card { border: 1px solid var(--line); border-radius: .5rem; padding: 1rem; }
  .card h3 { margin: 0 0 .25rem; font-size: 1.1rem; }
`;

function page(title: string, body: string, head = ''): string {
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title><style>${STYLE}</style>${head}</head>
<body>${body}</body></html>`;
}

function exampleHref(route: RouteConfig): string | undefined {
  if (route.path.includes(':') || route.path.includes('*')) return undefined;
  const example = route.example.replace(/^\?/, '');
  return example === '' ? route.path : `${route.path}?${example}`;
}

function card(route: RouteConfig, cacheTtl: number): string {
  const href = exampleHref(route);
  const cache = route.cache ? `cached, TTL ${route.ttl || cacheTtl} s` : 'not cached';
  return `<article class="card">
  <h3><code>${escapeHtml(route.path)}</code></h3>
  <p>${escapeHtml(route.description || 'No description.')}</p>
  <p class="muted">${escapeHtml(route.methods.join(', '))} · ${escapeHtml(cache)}</p>
  ${href === undefined ? '' : `<p>Example: <a href="${escapeHtml(href)}">${escapeHtml(href)}</a></p>`}
</article>`;
}

/** The index: every instrument, grouped by category. */
export function renderIndexPage(config: Config): string {
  const byCategory = new Map<string, RouteConfig[]>();
  for (const route of Object.values(config.routes)) {
    const category = route.category || 'Other';
    byCategory.set(category, [...(byCategory.get(category) ?? []), route]);
  }
  const sections = [...byCategory.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([category, routes]) => `<section><h2>${escapeHtml(category)}</h2><div class="cards">${
      routes.sort((a, b) => a.path.localeCompare(b.path)).map((route) => card(route, config.cache_ttl)).join('\n')}</div></section>`)
    .join('\n');
  const count = Object.keys(config.routes).length;
  return page('WASIO instruments', `<header><h1>WASIO</h1>
<p>${count} instrument${count === 1 ? '' : 's'} served from WebAssembly. <a href="/monitoring">Monitoring</a> · <a href="/stats">Stats (JSON)</a> · <a href="/health">Health</a></p></header>
<main>${sections || '<p>No routes configured.</p>'}</main>`);
}

/** The monitoring page: reloads its numbers from `?format=json` every few seconds. */
export function renderMonitoringPage(): string {
  const script = `
const fmt = (n, d = 1) => Number(n).toFixed(d);
async function refresh() {
  try {
    const s = await (await fetch('/monitoring?format=json', { cache: 'no-store' })).json();
    document.getElementById('summary').innerHTML =
      '<tr><th scope="row">Uptime</th><td>' + fmt(s.uptime_seconds, 0) + ' s</td></tr>' +
      '<tr><th scope="row">Requests</th><td>' + s.total_requests + '</td></tr>' +
      '<tr><th scope="row">Successes</th><td>' + s.successes + '</td></tr>' +
      '<tr><th scope="row">Errors</th><td>' + s.errors + '</td></tr>' +
      '<tr><th scope="row">Response cache</th><td>' + s.response_cache.hits + ' hits, ' + s.response_cache.misses + ' misses, ' + s.response_cache.entries + ' entries</td></tr>' +
      '<tr><th scope="row">Module cache</th><td>' + s.module_cache.hits + ' hits, ' + s.module_cache.misses + ' misses, ' + s.module_cache.compiles + ' compiles</td></tr>' +
      '<tr><th scope="row">Workers</th><td>' + s.workers.total + ' (' + s.workers.busy + ' busy, ' + s.workers.queued + ' queued, ' + s.workers.replaced + ' replaced)</td></tr>';
    document.getElementById('routes').innerHTML = Object.entries(s.routes).map(([path, r]) =>
      '<tr><td><code>' + path.replace(/[&<>]/g, '') + '</code></td><td>' + r.requests + '</td><td>' + r.successes + '</td><td>' + r.errors +
      '</td><td>' + fmt(r.avg_ms) + '</td><td>' + fmt(r.min_ms) + '</td><td>' + fmt(r.max_ms) + '</td><td>' + r.cache_hits + '/' + r.cache_misses + '</td></tr>').join('');
    document.getElementById('updated').textContent = new Date().toLocaleTimeString();
  } catch (error) {
    document.getElementById('updated').textContent = 'update failed: ' + error;
  }
}
refresh();
setInterval(refresh, 2000);`;
  return page('WASIO monitoring', `<h1>Monitoring</h1>
<p class="muted">Updated <span id="updated">…</span> · <a href="/">Instruments</a> · <a href="/monitoring?format=json">JSON</a></p>
<table aria-label="Server summary"><tbody id="summary"></tbody></table>
<h2>Routes</h2>
<table><thead><tr><th scope="col">Route</th><th scope="col">Requests</th><th scope="col">OK</th><th scope="col">Errors</th><th scope="col">Avg ms</th><th scope="col">Min ms</th><th scope="col">Max ms</th><th scope="col">Cache hit/miss</th></tr></thead>
<tbody id="routes"></tbody></table>`, `<script>${script}</script>`);
}
