/**
 * The numbers behind `/stats` and `/monitoring`: totals and per-route counts since start, and
 * a ring of recent history (two-second slots over five minutes) from which the dashboard's
 * charts are drawn: requests and errors per second, latency percentiles, cache hit rate.
 *
 * Everything is counted from `wasio:request:end`, the event the Prometheus metrics count
 * from too, so the dashboard and `/metrics` agree.
 */
import type { ModuleStoreStats, PoolStats } from '../runtime/index.js';
import { subscribe } from '../runtime/index.js';
import { requestEndChannel, type RequestEndMessage } from './diagnostics.js';
import type { CacheBackendStatus } from './response-cache.js';

/** Length of one slot of recent history. */
export const SLOT_SECONDS = 2;
/** Slots kept: five minutes. */
export const SLOT_COUNT = 150;
/** Slots behind the headline numbers (`recent`): the last ten seconds. */
export const RECENT_SLOTS = 5;
/** Latencies kept per slot and timeline; past it, a uniform sample (reservoir sampling). */
const SAMPLES_PER_SLOT = 128;
const SLOT_MS = SLOT_SECONDS * 1000;

/** Counts since start of one route (or of every request). */
export interface Totals {
  requests: number;
  successes: number;
  errors: number;
  cacheHits: number;
  cacheMisses: number;
  totalMs: number;
  minMs: number;
  maxMs: number;
  lastStatus: number;
}

/** Rates and percentiles over a stretch of recent history. `null` where nothing was measured. */
export interface WindowSummary {
  readonly requests_per_second: number;
  readonly errors_per_second: number;
  readonly p50_ms: number | null;
  readonly p95_ms: number | null;
  readonly p99_ms: number | null;
  /** Hits over hits + misses, from 0 to 1. */
  readonly cache_hit_rate: number | null;
}

/** Recent history as columns, one entry per finished slot, oldest first (uPlot's data layout). */
export interface Series {
  /** Unix seconds at the end of each slot. */
  readonly time: number[];
  readonly requests_per_second: number[];
  readonly errors_per_second: number[];
  readonly p50_ms: (number | null)[];
  readonly p95_ms: (number | null)[];
  readonly p99_ms: (number | null)[];
  readonly cache_hit_rate: (number | null)[];
}

interface Slot {
  /** `floor(time / SLOT_MS)`: which stretch of time this slot currently holds. */
  index: number;
  requests: number;
  errors: number;
  cacheHits: number;
  cacheMisses: number;
  /** Latencies offered to `samples`, for reservoir sampling. */
  measured: number;
  readonly samples: number[];
}

function isError(status: number): boolean {
  return status >= 400;
}

/** The value at quantile `q` of ascending `sorted` (nearest rank), or null when empty. */
export function quantile(sorted: readonly number[], q: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] as number;
}

/** Recent history of one route, or of all requests: a ring of `SLOT_COUNT` slots. */
class Timeline {
  private readonly ring: (Slot | undefined)[] = new Array<Slot | undefined>(SLOT_COUNT);

  add(slotIndex: number, durationMs: number, status: number, cache: RequestEndMessage['cache']): void {
    const position = slotIndex % SLOT_COUNT;
    let slot = this.ring[position];
    if (slot === undefined || slot.index !== slotIndex) {
      slot = { index: slotIndex, requests: 0, errors: 0, cacheHits: 0, cacheMisses: 0, measured: 0, samples: [] };
      this.ring[position] = slot;
    }
    slot.requests += 1;
    if (isError(status)) slot.errors += 1;
    if (cache === 'HIT') slot.cacheHits += 1;
    if (cache === 'MISS') slot.cacheMisses += 1;
    slot.measured += 1;
    if (slot.samples.length < SAMPLES_PER_SLOT) {
      slot.samples.push(durationMs);
    } else {
      const replace = Math.floor(Math.random() * slot.measured);
      if (replace < SAMPLES_PER_SLOT) slot.samples[replace] = durationMs;
    }
  }

  /** Rates and percentiles over the slots `first` to `last` (indexes, both included). */
  summary(first: number, last: number): WindowSummary {
    let requests = 0;
    let errors = 0;
    let hits = 0;
    let misses = 0;
    const samples: number[] = [];
    for (let index = first; index <= last; index++) {
      const slot = this.ring[index % SLOT_COUNT];
      if (slot === undefined || slot.index !== index) continue;
      requests += slot.requests;
      errors += slot.errors;
      hits += slot.cacheHits;
      misses += slot.cacheMisses;
      samples.push(...slot.samples);
    }
    samples.sort((a, b) => a - b);
    const seconds = (last - first + 1) * SLOT_SECONDS;
    return {
      requests_per_second: requests / seconds,
      errors_per_second: errors / seconds,
      p50_ms: quantile(samples, 0.5),
      p95_ms: quantile(samples, 0.95),
      p99_ms: quantile(samples, 0.99),
      cache_hit_rate: hits + misses === 0 ? null : hits / (hits + misses),
    };
  }

  /** Every finished slot still in the ring before `current`, oldest first. */
  series(current: number): Series {
    const series: Series = {
      time: [], requests_per_second: [], errors_per_second: [], p50_ms: [], p95_ms: [], p99_ms: [], cache_hit_rate: [],
    };
    for (let index = current - SLOT_COUNT + 1; index < current; index++) {
      const point = this.summary(index, index);
      series.time.push(((index + 1) * SLOT_MS) / 1000);
      series.requests_per_second.push(point.requests_per_second);
      series.errors_per_second.push(point.errors_per_second);
      series.p50_ms.push(point.p50_ms);
      series.p95_ms.push(point.p95_ms);
      series.p99_ms.push(point.p99_ms);
      series.cache_hit_rate.push(point.cache_hit_rate);
    }
    return series;
  }
}

function emptyTotals(): Totals {
  return {
    requests: 0, successes: 0, errors: 0, cacheHits: 0, cacheMisses: 0,
    totalMs: 0, minMs: Number.POSITIVE_INFINITY, maxMs: 0, lastStatus: 0,
  };
}

function addTo(totals: Totals, message: RequestEndMessage): void {
  totals.requests += 1;
  if (isError(message.status)) totals.errors += 1;
  else totals.successes += 1;
  if (message.cache === 'HIT') totals.cacheHits += 1;
  if (message.cache === 'MISS') totals.cacheMisses += 1;
  totals.totalMs += message.durationMs;
  totals.minMs = Math.min(totals.minMs, message.durationMs);
  totals.maxMs = Math.max(totals.maxMs, message.durationMs);
  totals.lastStatus = message.status;
}

/** What the stats document shows besides the request counts: the runtime and the cache. */
export interface StatsSources {
  readonly modules: ModuleStoreStats;
  readonly pool: PoolStats;
  /** Responses in the current config's response cache. */
  readonly cacheEntries: number;
  /** Where the response cache lives and whether it is usable (outages of a shared one are counted). */
  readonly cacheBackend?: CacheBackendStatus;
}

/**
 * Counts one server's instrument requests, from the moment it is made until `close()`.
 * `server` is the publisher whose `wasio:request:end` messages count.
 */
export class ServerStats {
  readonly startedAt: number;
  readonly totals = emptyTotals();
  readonly routes = new Map<string, Totals>();
  private readonly overall = new Timeline();
  private readonly timelines = new Map<string, Timeline>();
  private readonly unsubscribe: () => void;

  /** `now` is the clock (milliseconds since the epoch); tests may pass their own. */
  constructor(server: object, private readonly now: () => number = Date.now) {
    this.startedAt = now();
    this.unsubscribe = subscribe(requestEndChannel, (message) => {
      if (message.server === server) this.record(message);
    });
  }

  /** Stops counting. */
  close(): void {
    this.unsubscribe();
  }

  uptimeSeconds(): number {
    return (this.now() - this.startedAt) / 1000;
  }

  /**
   * The document of `/stats` and `/monitoring?format=json`: totals since start, per-route
   * counts with their recent rates, the runtime's state, and the recent history of
   * `seriesRoute` (every request when absent) for the charts.
   */
  document(sources: StatsSources, seriesRoute?: string): Record<string, unknown> {
    const current = Math.floor(this.now() / SLOT_MS);
    const firstRecent = current - RECENT_SLOTS;
    const lastRecent = current - 1;
    const routes: Record<string, unknown> = {};
    for (const [path, route] of this.routes) {
      routes[path] = {
        requests: route.requests, successes: route.successes, errors: route.errors,
        cache_hits: route.cacheHits, cache_misses: route.cacheMisses,
        avg_ms: route.requests === 0 ? 0 : route.totalMs / route.requests,
        min_ms: route.requests === 0 ? 0 : route.minMs, max_ms: route.maxMs, last_status: route.lastStatus,
        recent: this.timelines.get(path)?.summary(firstRecent, lastRecent),
      };
    }
    const timeline = seriesRoute === undefined ? this.overall : this.timelines.get(seriesRoute) ?? new Timeline();
    return {
      uptime_seconds: this.uptimeSeconds(),
      total_requests: this.totals.requests,
      successes: this.totals.successes,
      errors: this.totals.errors,
      response_cache: {
        hits: this.totals.cacheHits, misses: this.totals.cacheMisses, entries: sources.cacheEntries,
        ...(sources.cacheBackend === undefined ? {} : { backend: sources.cacheBackend }),
      },
      module_cache: sources.modules,
      workers: { total: sources.pool.workers, busy: sources.pool.busy, queued: sources.pool.queued, replaced: sources.pool.replaced },
      routes,
      recent: { window_seconds: RECENT_SLOTS * SLOT_SECONDS, ...this.overall.summary(firstRecent, lastRecent) },
      series: { route: seriesRoute ?? null, slot_seconds: SLOT_SECONDS, ...timeline.series(current) },
    };
  }

  private record(message: RequestEndMessage): void {
    const slotIndex = Math.floor(this.now() / SLOT_MS);
    addTo(this.totals, message);
    this.overall.add(slotIndex, message.durationMs, message.status, message.cache);
    if (message.route === undefined) return;
    let totals = this.routes.get(message.route);
    let timeline = this.timelines.get(message.route);
    if (totals === undefined || timeline === undefined) {
      totals = emptyTotals();
      timeline = new Timeline();
      this.routes.set(message.route, totals);
      this.timelines.set(message.route, timeline);
    }
    addTo(totals, message);
    timeline.add(slotIndex, message.durationMs, message.status, message.cache);
  }
}
