/**
 * The numbers behind `/stats` and `/monitoring`: totals and per-route counts since start, and
 * a ring of recent history (two-second slots over five minutes) from which the dashboard's
 * charts are drawn: requests and errors per second, latency percentiles, cache hit rate.
 *
 * Everything is counted from `wasio:request:end`, the event the Prometheus metrics count
 * from too, so the dashboard and `/metrics` agree.
 *
 * A server of several processes (one `ServerStats` each) shows one document for all of them:
 * each process takes a `StatsSnapshot` (plain data, safe for JSON and structured clone), the
 * snapshots are merged (`mergeStatsSnapshots`, `mergeStatsSources`), and `statsDocument`
 * computes the document from the result, as a single process computes it from its own.
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
export const SAMPLES_PER_SLOT = 128;
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
  /** The clock (milliseconds since the epoch) when the last request was counted; 0 before any. */
  lastAt: number;
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

/** One slot of recent history. */
export interface SlotSnapshot {
  /** `floor(time / (SLOT_SECONDS * 1000))`: which stretch of time the slot holds. */
  readonly index: number;
  readonly requests: number;
  readonly errors: number;
  readonly cacheHits: number;
  readonly cacheMisses: number;
  /** Latencies offered to `samples`: more than `samples.length` once the sample is full. */
  readonly measured: number;
  /** Milliseconds: every latency measured, or a uniform sample of `SAMPLES_PER_SLOT` of them. */
  readonly samples: readonly number[];
}

/** One route's counts since start and its recent history. */
export interface RouteSnapshot {
  readonly path: string;
  readonly totals: Readonly<Totals>;
  /** The slots of the last `SLOT_COUNT` that saw a request, oldest first. */
  readonly slots: readonly SlotSnapshot[];
}

/**
 * Everything the stats document is computed from, as plain data: numbers, strings and arrays
 * only (no Map, no Infinity), so it survives JSON and structured clone (`process.send`). In
 * `totals`, `minMs` is 0 while `requests` is 0.
 */
export interface StatsSnapshot {
  /** Milliseconds since the epoch. */
  readonly startedAt: number;
  readonly totals: Readonly<Totals>;
  /** The slots of every request, as in `RouteSnapshot`. */
  readonly slots: readonly SlotSnapshot[];
  readonly routes: readonly RouteSnapshot[];
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

  /** The slots holding time from slot `oldest` on, oldest first: the live objects, not copies. */
  slots(oldest: number): Slot[] {
    return this.ring.filter((slot): slot is Slot => slot !== undefined && slot.index >= oldest).sort((a, b) => a.index - b.index);
  }
}

/** Recent history read back from its slots, in any order, for the document. */
class History {
  private readonly slots = new Map<number, SlotSnapshot>();

  constructor(slots: readonly SlotSnapshot[]) {
    for (const slot of slots) this.slots.set(slot.index, slot);
  }

  /** Rates and percentiles over the slots `first` to `last` (indexes, both included). */
  summary(first: number, last: number): WindowSummary {
    let requests = 0;
    let errors = 0;
    let hits = 0;
    let misses = 0;
    const samples: number[] = [];
    for (let index = first; index <= last; index++) {
      const slot = this.slots.get(index);
      if (slot === undefined) continue;
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

  /** Every finished slot of the ring's span before `current`, oldest first. */
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
    totalMs: 0, minMs: Number.POSITIVE_INFINITY, maxMs: 0, lastStatus: 0, lastAt: 0,
  };
}

function addTo(totals: Totals, message: RequestEndMessage, now: number): void {
  totals.requests += 1;
  if (isError(message.status)) totals.errors += 1;
  else totals.successes += 1;
  if (message.cache === 'HIT') totals.cacheHits += 1;
  if (message.cache === 'MISS') totals.cacheMisses += 1;
  totals.totalMs += message.durationMs;
  totals.minMs = Math.min(totals.minMs, message.durationMs);
  totals.maxMs = Math.max(totals.maxMs, message.durationMs);
  totals.lastStatus = message.status;
  totals.lastAt = now;
}

/** A copy of `totals` fit for a snapshot: `minMs` is 0 instead of Infinity before any request. */
function snapshotTotals(totals: Totals): Totals {
  return { ...totals, minMs: totals.requests === 0 ? 0 : totals.minMs };
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
 * The document of `/stats` and `/monitoring?format=json` for `snapshot` at time `now`
 * (milliseconds since the epoch): totals since start, per-route counts with their recent
 * rates, the runtime's state from `sources`, and the recent history of `seriesRoute` (every
 * request when absent; a route with no requests gives an empty history) for the charts.
 * Reads its arguments only; never throws.
 */
export function statsDocument(snapshot: StatsSnapshot, sources: StatsSources, now: number, seriesRoute?: string): Record<string, unknown> {
  const current = Math.floor(now / SLOT_MS);
  const firstRecent = current - RECENT_SLOTS;
  const lastRecent = current - 1;
  const routes: Record<string, unknown> = {};
  let seriesSlots: readonly SlotSnapshot[] = seriesRoute === undefined ? snapshot.slots : [];
  for (const { path, totals: route, slots } of snapshot.routes) {
    routes[path] = {
      requests: route.requests, successes: route.successes, errors: route.errors,
      cache_hits: route.cacheHits, cache_misses: route.cacheMisses,
      avg_ms: route.requests === 0 ? 0 : route.totalMs / route.requests,
      min_ms: route.requests === 0 ? 0 : route.minMs, max_ms: route.maxMs, last_status: route.lastStatus,
      recent: new History(slots).summary(firstRecent, lastRecent),
    };
    if (path === seriesRoute) seriesSlots = slots;
  }
  const { totals } = snapshot;
  return {
    uptime_seconds: (now - snapshot.startedAt) / 1000,
    total_requests: totals.requests,
    successes: totals.successes,
    errors: totals.errors,
    response_cache: {
      hits: totals.cacheHits, misses: totals.cacheMisses, entries: sources.cacheEntries,
      ...(sources.cacheBackend === undefined ? {} : { backend: sources.cacheBackend }),
    },
    module_cache: sources.modules,
    workers: { total: sources.pool.workers, busy: sources.pool.busy, queued: sources.pool.queued, replaced: sources.pool.replaced },
    routes,
    recent: { window_seconds: RECENT_SLOTS * SLOT_SECONDS, ...new History(snapshot.slots).summary(firstRecent, lastRecent) },
    series: { route: seriesRoute ?? null, slot_seconds: SLOT_SECONDS, ...new History(seriesSlots).series(current) },
  };
}

/**
 * Totals of several processes as one: counts, `totalMs` summed; `minMs` the least and `maxMs`
 * the greatest of the parts that counted a request; `lastStatus` and `lastAt` from the part
 * whose last request came latest (the earlier part in the list on a tie).
 */
function mergeTotals(parts: readonly Readonly<Totals>[]): Totals {
  const merged = emptyTotals();
  let last: Readonly<Totals> | undefined;
  for (const part of parts) {
    merged.requests += part.requests;
    merged.successes += part.successes;
    merged.errors += part.errors;
    merged.cacheHits += part.cacheHits;
    merged.cacheMisses += part.cacheMisses;
    merged.totalMs += part.totalMs;
    if (part.requests === 0) continue;
    merged.minMs = Math.min(merged.minMs, part.minMs);
    merged.maxMs = Math.max(merged.maxMs, part.maxMs);
    if (last === undefined || part.lastAt > last.lastAt) last = part;
  }
  if (last !== undefined) {
    merged.lastStatus = last.lastStatus;
    merged.lastAt = last.lastAt;
  }
  return snapshotTotals(merged);
}

/** `count` of `values` picked at random, without replacement (a partial Fisher-Yates shuffle). */
function pickSome(values: readonly number[], count: number, random: () => number): number[] {
  const pool = values.slice();
  for (let i = 0; i < count; i++) {
    const j = i + Math.floor(random() * (pool.length - i));
    [pool[i], pool[j]] = [pool[j] as number, pool[i] as number];
  }
  return pool.slice(0, count);
}

/**
 * The samples of one slot index from several processes: all of them while they fit in
 * `SAMPLES_PER_SLOT`, else a uniform sample of that many of every latency the parts measured.
 * Each part's samples stand for its `measured` latencies, so `SAMPLES_PER_SLOT` draws without
 * replacement are spread over the parts as from their `measured` counts (a part is drawn with
 * the weight of its latencies not drawn yet), then each part gives that many of its samples
 * picked at random.
 */
function mergeSamples(parts: readonly SlotSnapshot[], random: () => number): number[] {
  const kept = parts.reduce((sum, part) => sum + part.samples.length, 0);
  if (kept <= SAMPLES_PER_SLOT) return parts.flatMap((part) => part.samples);
  const undrawn = parts.map((part) => Math.max(part.measured, part.samples.length));
  const available = parts.map((part) => part.samples.length);
  const drawn = parts.map(() => 0);
  for (let draw = 0; draw < SAMPLES_PER_SLOT; draw++) {
    let weight = 0;
    for (let i = 0; i < parts.length; i++) if ((available[i] as number) > 0) weight += undrawn[i] as number;
    let pick = random() * weight;
    let chosen = 0;
    for (let i = 0; i < parts.length; i++) {
      if ((available[i] as number) === 0) continue;
      chosen = i;
      pick -= undrawn[i] as number;
      if (pick < 0) break;
    }
    undrawn[chosen] = (undrawn[chosen] as number) - 1;
    available[chosen] = (available[chosen] as number) - 1;
    drawn[chosen] = (drawn[chosen] as number) + 1;
  }
  return parts.flatMap((part, i) => pickSome(part.samples, drawn[i] as number, random));
}

/** Slots of several processes as one history: slots of the same index merged, the newest `SLOT_COUNT` indexes kept, oldest first. */
function mergeSlots(histories: readonly (readonly SlotSnapshot[])[], random: () => number): SlotSnapshot[] {
  const byIndex = new Map<number, SlotSnapshot[]>();
  for (const slots of histories) {
    for (const slot of slots) {
      const parts = byIndex.get(slot.index);
      if (parts === undefined) byIndex.set(slot.index, [slot]);
      else parts.push(slot);
    }
  }
  const newest = Math.max(...byIndex.keys());
  const merged: SlotSnapshot[] = [];
  for (const [index, parts] of byIndex) {
    if (index <= newest - SLOT_COUNT) continue;
    merged.push({
      index,
      requests: parts.reduce((sum, part) => sum + part.requests, 0),
      errors: parts.reduce((sum, part) => sum + part.errors, 0),
      cacheHits: parts.reduce((sum, part) => sum + part.cacheHits, 0),
      cacheMisses: parts.reduce((sum, part) => sum + part.cacheMisses, 0),
      measured: parts.reduce((sum, part) => sum + part.measured, 0),
      samples: mergeSamples(parts, random),
    });
  }
  return merged.sort((a, b) => a.index - b.index);
}

/**
 * The snapshots of several processes of one server as the snapshot of one: `startedAt` is the
 * earliest; totals (overall and per route) are summed, with the least `minMs`, the greatest
 * `maxMs`, and `lastStatus` from the process whose last request came latest (`lastAt`; the
 * earlier snapshot in the list on a tie). Slots of the same index are merged: counts and
 * `measured` summed, samples kept whole while they fit in `SAMPLES_PER_SLOT`, else a uniform
 * sample of that many over every latency measured, each process weighted by its `measured`.
 * Routes keep the order they first appear in. `random` (from 0 inclusive to 1 exclusive) picks
 * the samples; tests may pass a seeded one. Reads its arguments only.
 *
 * @throws RangeError when `snapshots` is empty: there is no start time to give.
 */
export function mergeStatsSnapshots(snapshots: readonly StatsSnapshot[], random: () => number = Math.random): StatsSnapshot {
  if (snapshots.length === 0) throw new RangeError('mergeStatsSnapshots needs at least one snapshot');
  const routes = new Map<string, RouteSnapshot[]>();
  for (const snapshot of snapshots) {
    for (const route of snapshot.routes) {
      const parts = routes.get(route.path);
      if (parts === undefined) routes.set(route.path, [route]);
      else parts.push(route);
    }
  }
  return {
    startedAt: Math.min(...snapshots.map((snapshot) => snapshot.startedAt)),
    totals: mergeTotals(snapshots.map((snapshot) => snapshot.totals)),
    slots: mergeSlots(snapshots.map((snapshot) => snapshot.slots), random),
    routes: Array.from(routes, ([path, parts]) => ({
      path,
      totals: mergeTotals(parts.map((part) => part.totals)),
      slots: mergeSlots(parts.map((part) => part.slots), random),
    })),
  };
}

function sum<T>(parts: readonly T[], read: (part: T) => number): number {
  return parts.reduce((total, part) => total + read(part), 0);
}

/**
 * The sources of several processes of one server as those of one. Each process has its own
 * module store, worker pool and memory cache, so every number is summed: module hits, misses,
 * compiles, and `cached` (compiled copies held, which is the memory they take, not distinct
 * files); pool workers, busy, queued, replaced; `cacheEntries`. The cache backend's status is
 * the first process's `backend`, `available` only while every process can use its backend,
 * `outages` and `bypassed` summed, and `entries` summed, or null when any process's entries
 * live elsewhere (Redis); it is absent when no process gave one. Reads its arguments only.
 *
 * @throws RangeError when `sources` is empty.
 */
export function mergeStatsSources(sources: readonly StatsSources[]): StatsSources {
  if (sources.length === 0) throw new RangeError('mergeStatsSources needs at least one process\'s sources');
  const modules = sources.map((source) => source.modules);
  const pools = sources.map((source) => source.pool);
  const backends = sources.flatMap((source) => (source.cacheBackend === undefined ? [] : [source.cacheBackend]));
  const first = backends[0];
  return {
    modules: {
      hits: sum(modules, (m) => m.hits), misses: sum(modules, (m) => m.misses),
      compiles: sum(modules, (m) => m.compiles), cached: sum(modules, (m) => m.cached),
    },
    pool: {
      workers: sum(pools, (p) => p.workers), busy: sum(pools, (p) => p.busy),
      queued: sum(pools, (p) => p.queued), replaced: sum(pools, (p) => p.replaced),
    },
    cacheEntries: sum(sources, (source) => source.cacheEntries),
    ...(first === undefined ? {} : {
      cacheBackend: {
        backend: first.backend,
        available: backends.every((backend) => backend.available),
        outages: sum(backends, (backend) => backend.outages),
        bypassed: sum(backends, (backend) => backend.bypassed),
        entries: backends.some((backend) => backend.entries === null) ? null : sum(backends, (backend) => backend.entries ?? 0),
      },
    }),
  };
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
   * The counts as plain data, copied, for merging with other processes' (`mergeStatsSnapshots`):
   * totals, per-route totals, and the slots of the last `SLOT_COUNT` that saw a request.
   */
  snapshot(): StatsSnapshot {
    return this.capture(this.now(), true);
  }

  /**
   * The document of `/stats` and `/monitoring?format=json` (see `statsDocument`): totals since
   * start, per-route counts with their recent rates, the runtime's state, and the recent
   * history of `seriesRoute` (every request when absent) for the charts.
   */
  document(sources: StatsSources, seriesRoute?: string): Record<string, unknown> {
    const now = this.now();
    return statsDocument(this.capture(now, false), sources, now, seriesRoute);
  }

  /** The counts as a snapshot at `now`; slots are the live objects unless `copy`. */
  private capture(now: number, copy: boolean): StatsSnapshot {
    const oldest = Math.floor(now / SLOT_MS) - SLOT_COUNT + 1;
    const slots = (timeline: Timeline): SlotSnapshot[] => {
      const live = timeline.slots(oldest);
      return copy ? live.map((slot) => ({ ...slot, samples: slot.samples.slice() })) : live;
    };
    const routes: RouteSnapshot[] = [];
    for (const [path, totals] of this.routes) {
      const timeline = this.timelines.get(path);
      routes.push({ path, totals: snapshotTotals(totals), slots: timeline === undefined ? [] : slots(timeline) });
    }
    return { startedAt: this.startedAt, totals: snapshotTotals(this.totals), slots: slots(this.overall), routes };
  }

  private record(message: RequestEndMessage): void {
    const now = this.now();
    const slotIndex = Math.floor(now / SLOT_MS);
    addTo(this.totals, message, now);
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
    addTo(totals, message, now);
    timeline.add(slotIndex, message.durationMs, message.status, message.cache);
  }
}
