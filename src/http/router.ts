/**
 * Matches request paths to the routes of a config. Exact routes win over routes with
 * `:params`, which win over trailing-`*` routes; among those, the one with more literal
 * segments wins, then the longer. A router is immutable: a new config builds a new one.
 */
import type { RouteConfig } from '../config/index.js';

export interface RouteMatch {
  readonly route: RouteConfig;
  readonly params: Readonly<Record<string, string>>;
  /** What a trailing `*` matched ('' when the route has none or it matched nothing). */
  readonly rest: string;
}

interface Pattern {
  readonly route: RouteConfig;
  /** Literal text, or a parameter name prefixed with ':'. */
  readonly segments: readonly string[];
  readonly wildcard: boolean;
  readonly literals: number;
}

function compile(route: RouteConfig): Pattern {
  const parts = route.path.split('/').slice(1);
  const wildcard = parts.at(-1) === '*';
  const segments = wildcard ? parts.slice(0, -1) : parts;
  return { route, segments, wildcard, literals: segments.filter((segment) => !segment.startsWith(':')).length };
}

function specificity(a: Pattern, b: Pattern): number {
  if (a.wildcard !== b.wildcard) return a.wildcard ? 1 : -1;
  if (a.literals !== b.literals) return b.literals - a.literals;
  return b.segments.length - a.segments.length;
}

function decode(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

export class Router {
  /** The match of each route without params or `*`, made once: most requests find one. */
  private readonly exact = new Map<string, RouteMatch>();
  private readonly patterns: Pattern[] = [];

  constructor(routes: Iterable<RouteConfig>) {
    for (const route of routes) {
      if (!route.path.includes(':') && !route.path.endsWith('*')) this.exact.set(route.path, Object.freeze({ route, params: Object.freeze({}), rest: '' }));
      else this.patterns.push(compile(route));
    }
    this.patterns.sort(specificity);
  }

  /** The route for a percent-encoded URL path, or undefined. */
  match(path: string): RouteMatch | undefined {
    const exact = this.exact.get(path);
    if (exact !== undefined) return exact;
    if (this.patterns.length === 0) return undefined;
    const parts = path.split('/').slice(1);
    for (const pattern of this.patterns) {
      const match = this.tryPattern(pattern, parts);
      if (match !== undefined) return match;
    }
    return undefined;
  }

  private tryPattern(pattern: Pattern, parts: readonly string[]): RouteMatch | undefined {
    const { segments } = pattern;
    if (pattern.wildcard ? parts.length < segments.length : parts.length !== segments.length) return undefined;
    const params: Record<string, string> = {};
    for (let i = 0; i < segments.length; i++) {
      const segment = segments[i] as string;
      const part = parts[i] as string;
      if (segment.startsWith(':')) {
        const value = decode(part);
        if (value === undefined || value === '') return undefined;
        params[segment.slice(1)] = value;
      } else if (segment !== part) {
        return undefined;
      }
    }
    const rest = pattern.wildcard ? parts.slice(segments.length).join('/') : '';
    return { route: pattern.route, params, rest };
  }
}
