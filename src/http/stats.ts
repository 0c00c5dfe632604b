/**
 * Counters behind `/stats` and `/monitoring`: totals, per-route counts and latencies, cache
 * hits and misses. Updated once per request, read by the built-in pages.
 */
export interface RouteStats {
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

export interface RequestRecord {
  readonly route: string | undefined;
  readonly status: number;
  readonly durationMs: number;
  readonly cache: 'HIT' | 'MISS' | undefined;
}

function emptyRoute(): RouteStats {
  return {
    requests: 0, successes: 0, errors: 0, cacheHits: 0, cacheMisses: 0,
    totalMs: 0, minMs: Number.POSITIVE_INFINITY, maxMs: 0, lastStatus: 0,
  };
}

export class ServerStats {
  readonly startedAt = Date.now();
  requests = 0;
  successes = 0;
  errors = 0;
  readonly routes = new Map<string, RouteStats>();

  record(record: RequestRecord): void {
    const ok = record.status < 400;
    this.requests += 1;
    if (ok) this.successes += 1;
    else this.errors += 1;
    if (record.route === undefined) return;
    let route = this.routes.get(record.route);
    if (route === undefined) {
      route = emptyRoute();
      this.routes.set(record.route, route);
    }
    route.requests += 1;
    if (ok) route.successes += 1;
    else route.errors += 1;
    if (record.cache === 'HIT') route.cacheHits += 1;
    if (record.cache === 'MISS') route.cacheMisses += 1;
    route.totalMs += record.durationMs;
    route.minMs = Math.min(route.minMs, record.durationMs);
    route.maxMs = Math.max(route.maxMs, record.durationMs);
    route.lastStatus = record.status;
  }

  uptimeSeconds(): number {
    return (Date.now() - this.startedAt) / 1000;
  }
}
