/**
 * What the HTTP server announces on `node:diagnostics_channel`. The runtime's own channels
 * (compilations, instances, workers, limits) are in `src/runtime/diagnostics.ts`; the server
 * publishes `wasio:limit:exceeded` there too, for bodies over their route's limit.
 */
import { typedChannel } from '../runtime/index.js';

/**
 * `wasio:request:end`: an instrument request was answered (built-in pages are not announced).
 * The dashboard's counters and the Prometheus metrics are both counted from this one event,
 * so they agree.
 */
export interface RequestEndMessage {
  /** The `WasioServer` that answered. */
  readonly server: object;
  readonly requestId: string;
  /** The matched route's path; undefined when no route matched (404). */
  readonly route: string | undefined;
  readonly method: string;
  readonly status: number;
  /** From the request's arrival to the last byte of the response. */
  readonly durationMs: number;
  /** The response cache's answer, for GET and HEAD on cached routes. */
  readonly cache: 'HIT' | 'MISS' | undefined;
}

export const requestEndChannel = typedChannel<RequestEndMessage>('wasio:request:end');
