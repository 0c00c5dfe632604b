/**
 * The dashboard's script, run in the browser. It polls `/monitoring?format=json` and draws
 * uPlot charts of the selected route (or of every request): requests and errors per second,
 * latency percentiles, cache hit rate, and workers and queue. The server keeps the history
 * of requests; worker and queue gauges are sampled at each poll, as a scraper would.
 *
 * Served as the text of `monitoringClient` (see `assets.ts`), so it must use nothing but
 * browser globals: no imports at run time, only types.
 */
import type uPlot from 'uplot';
import type { Series, WindowSummary } from '../stats.js';

/** The parts of the stats document the dashboard reads. */
interface StatsDocument {
  readonly uptime_seconds: number;
  readonly total_requests: number;
  readonly successes: number;
  readonly errors: number;
  readonly response_cache: { readonly hits: number; readonly misses: number; readonly entries: number };
  readonly module_cache: { readonly hits: number; readonly misses: number; readonly compiles: number; readonly cached: number };
  readonly workers: { readonly total: number; readonly busy: number; readonly queued: number; readonly replaced: number };
  readonly routes: Readonly<Record<string, {
    readonly requests: number; readonly successes: number; readonly errors: number;
    readonly cache_hits: number; readonly cache_misses: number;
    readonly avg_ms: number; readonly min_ms: number; readonly max_ms: number; readonly last_status: number;
    readonly recent: WindowSummary | undefined;
  }>>;
  readonly recent: WindowSummary;
  readonly series: Series & { readonly route: string | null; readonly slot_seconds: number };
}

/** Runs the dashboard: first poll now, then one every two seconds. */
export function monitoringClient(): void {
  const POLL_MS = 2000;
  /** Worker and queue samples kept: the five minutes the server keeps of requests. */
  const GAUGE_SAMPLES = 150;
  const CHART_HEIGHT = 220;
  const UPlot = (window as unknown as { uPlot: typeof uPlot }).uPlot;
  const routeSelect = document.getElementById('route-select') as HTMLSelectElement;
  const updated = document.getElementById('updated') as HTMLElement;
  const gauges = { time: [] as number[], busy: [] as number[], queued: [] as number[] };
  const charts = new Map<string, { readonly chart: uPlot; readonly resizing: ResizeObserver }>();
  let latest: StatsDocument | undefined;

  const number = (value: number | null | undefined, digits = 1): string =>
    value === null || value === undefined || !Number.isFinite(value) ? '–' : value.toFixed(digits);
  const percent = (rate: number | null | undefined): string =>
    rate === null || rate === undefined ? '–' : `${(rate * 100).toFixed(1)} %`;
  const clock = (seconds: number): string =>
    new Date(seconds * 1000).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });
  /** A colour of the page's current scheme (`--fg`, `--line`, `--chart-1`, ...). */
  const pageColour = (property: string): string => getComputedStyle(document.documentElement).getPropertyValue(property).trim();

  function setText(id: string, text: string): void {
    const element = document.getElementById(id);
    if (element !== null) element.textContent = text;
  }

  /**
   * Draws chart `id` with `data`, creating it the first time in the page's colours, sized to
   * its box and resized with it. The y axis starts at zero and reaches at least `minimumTop`.
   */
  function draw(id: string, labels: readonly [label: string, colour: string][], data: uPlot.AlignedData, minimumTop = 1): void {
    const existing = charts.get(id);
    if (existing !== undefined) {
      existing.chart.setData(data);
      return;
    }
    const box = document.getElementById(id) as HTMLElement;
    const rule = pageColour('--line');
    const axis: uPlot.Axis = { stroke: pageColour('--fg'), grid: { stroke: rule, width: 1 }, ticks: { stroke: rule, width: 1 } };
    // Ticks on whole seconds at least, labelled with the time of day only.
    const timeAxis: uPlot.Axis = {
      ...axis, space: 90, incrs: [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600], values: (_chart, ticks) => ticks.map(clock),
    };
    const chart = new UPlot({
      width: box.clientWidth,
      height: CHART_HEIGHT,
      series: [{}, ...labels.map(([label, colour]) => ({
        label, stroke: pageColour(`--chart-${colour}`), width: 2,
        value: (_chart: uPlot, value: number | null) => number(value, 2),
      }))],
      axes: [timeAxis, { ...axis, size: 56 }],
      scales: { x: { time: true }, y: { range: (_chart, _min, max) => [0, Math.max(minimumTop, Number.isFinite(max) ? max * 1.1 : 0)] } },
    }, data, box);
    const resizing = new ResizeObserver(() => chart.setSize({ width: box.clientWidth, height: CHART_HEIGHT }));
    resizing.observe(box);
    charts.set(id, { chart, resizing });
  }

  function showNumbers(stats: StatsDocument, route: string): void {
    const routeStats = route === '' ? undefined : stats.routes[route];
    const recent = route === '' ? stats.recent : routeStats?.recent;
    setText('stat-requests', String(route === '' ? stats.total_requests : routeStats?.requests ?? 0));
    setText('stat-rps', number(recent?.requests_per_second ?? 0, 2));
    setText('stat-p50', number(recent?.p50_ms));
    setText('stat-p95', number(recent?.p95_ms));
    setText('stat-p99', number(recent?.p99_ms));
    setText('stat-errors', String(route === '' ? stats.errors : routeStats?.errors ?? 0));
    setText('stat-cache', percent(recent?.cache_hit_rate));
    setText('stat-workers', `${stats.workers.busy} / ${stats.workers.total}`);
    setText('stat-queue', String(stats.workers.queued));
    setText('stat-replaced', String(stats.workers.replaced));
    setText('stat-uptime', `${number(stats.uptime_seconds, 0)} s`);
    setText('stat-modules', `${stats.module_cache.compiles} compiled, ${stats.module_cache.cached} kept`);
    setText('stat-response-cache', `${stats.response_cache.hits} hits, ${stats.response_cache.misses} misses, ${stats.response_cache.entries} entries`);
  }

  function showRoutes(stats: StatsDocument): void {
    const body = document.getElementById('routes') as HTMLElement;
    const rows = Object.entries(stats.routes).map(([path, route]) => {
      const row = document.createElement('tr');
      const cells = [path, String(route.requests), String(route.errors), number(route.recent?.requests_per_second, 2),
        number(route.avg_ms), number(route.recent?.p95_ms), number(route.max_ms), `${route.cache_hits} / ${route.cache_misses}`];
      cells.forEach((text, column) => {
        const cell = document.createElement(column === 0 ? 'th' : 'td');
        if (column === 0) {
          cell.setAttribute('scope', 'row');
          const code = document.createElement('code');
          code.textContent = text;
          cell.append(code);
        } else {
          cell.textContent = text;
        }
        row.append(cell);
      });
      return row;
    });
    body.replaceChildren(...rows);
  }

  /** Keeps the worker and queue gauges of one poll, as a scraper would. */
  function sampleGauges(stats: StatsDocument): void {
    gauges.time.push(Date.now() / 1000);
    gauges.busy.push(stats.workers.busy);
    gauges.queued.push(stats.workers.queued);
    if (gauges.time.length > GAUGE_SAMPLES) for (const column of Object.values(gauges)) column.shift();
  }

  function showCharts(stats: StatsDocument): void {
    const { series } = stats;
    draw('chart-requests', [['requests/s', '1'], ['errors/s', '2']], [series.time, series.requests_per_second, series.errors_per_second]);
    draw('chart-latency', [['p50 ms', '3'], ['p95 ms', '4'], ['p99 ms', '2']], [series.time, series.p50_ms, series.p95_ms, series.p99_ms]);
    draw('chart-cache', [['hit rate %', '5']], [series.time, series.cache_hit_rate.map((rate) => (rate === null ? null : rate * 100))], 100);
    draw('chart-workers', [['busy workers', '1'], ['queued', '4']], [gauges.time, gauges.busy, gauges.queued], stats.workers.total);
  }

  /** Charts are drawn on canvases in the colours of one scheme: a change of scheme draws them anew. */
  function redrawCharts(): void {
    for (const { chart, resizing } of charts.values()) {
      resizing.disconnect();
      chart.destroy();
    }
    charts.clear();
    if (latest !== undefined) showCharts(latest);
  }

  let timer: ReturnType<typeof setTimeout> | undefined;
  async function refresh(): Promise<void> {
    clearTimeout(timer);
    const route = routeSelect.value;
    try {
      const query = route === '' ? '' : `&route=${encodeURIComponent(route)}`;
      const response = await fetch(`/monitoring?format=json${query}`, { cache: 'no-store' });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      const stats = (await response.json()) as StatsDocument;
      latest = stats;
      sampleGauges(stats);
      showNumbers(stats, route);
      showRoutes(stats);
      showCharts(stats);
      updated.textContent = new Date().toLocaleTimeString();
    } catch (error) {
      updated.textContent = `update failed: ${String(error)}`;
    }
    timer = setTimeout(() => void refresh(), POLL_MS);
  }

  routeSelect.addEventListener('change', () => void refresh());
  matchMedia('(prefers-color-scheme: dark)').addEventListener('change', redrawCharts);
  void refresh();
}
