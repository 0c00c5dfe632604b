/**
 * Where the JSON log goes when it is the process's own stdout: lines are gathered and
 * written together, at most `delayMs` after the first of them, or at once when `maxChars`
 * have gathered, and whatever is left when the process exits.
 *
 * A busy server logs a line per request. Written one by one (even asynchronously, through
 * the thread pool, as pino's own destination does), each line costs a system call and a
 * thread hand-off; with several HTTP processes each line also wakes the primary, which
 * relays it. Measured on a cache hit with two processes, that was about a fifth of the
 * request's CPU. Gathered for 10 ms, a busy process writes a few dozen lines at a time.
 *
 * Writes are synchronous, as Node's own stdout is for files and pipes: when the reader falls
 * behind, the server waits for it rather than holding an ever larger backlog in memory.
 */
import { writeSync } from 'node:fs';
import type { AccessLogFields, DeferredLines, accessLogLine } from '../http/access-log.js';

/** A write error that means "try again": the descriptor is non-blocking and full. */
const RETRY_CODES = new Set(['EAGAIN', 'EWOULDBLOCK']);
const RETRY_PAUSE_MS = 1;

/** Never notified: waiting on it is a sleep. */
const SLEEPER = new Int32Array(new SharedArrayBuffer(4));

/** Blocks this thread for `ms` without spinning: the one way to wait inside a synchronous write. */
function pause(ms: number): void {
  Atomics.wait(SLEEPER, 0, 0, ms);
}

export interface BatchedOutputOptions {
  /** Longest a line waits before it is written. */
  readonly delayMs?: number;
  /** Characters gathered that are written at once, without waiting. */
  readonly maxChars?: number;
}

/** What a deferred line is counted as toward `maxChars` until it is made: about an access line's length. */
const DEFERRED_LINE_CHARS = 256;

/** Every output made, so one `exit` listener writes what each still holds. */
const outputs = new Set<BatchedOutput>();
let flushesOnExit = false;

export class BatchedOutput implements DeferredLines {
  private pending = '';
  /**
   * Lines to make when the batch is written, four entries each (format, time, request id,
   * fields), in order with the text written after them; while any wait, text waits among them
   * (format undefined) so the order holds.
   */
  private deferred: unknown[] = [];
  private pendingChars = 0;
  private timer: NodeJS.Timeout | undefined;
  /** Set once the descriptor refused a write for good (its reader is gone): lines are dropped. */
  private broken = false;
  private readonly delayMs: number;
  private readonly maxChars: number;

  constructor(private readonly fd: number, { delayMs = 10, maxChars = 16 * 1024 }: BatchedOutputOptions = {}) {
    this.delayMs = delayMs;
    this.maxChars = maxChars;
    outputs.add(this);
    if (!flushesOnExit) {
      flushesOnExit = true;
      process.on('exit', () => {
        for (const output of outputs) output.flush();
      });
    }
  }

  /** Gathers `text` (whole lines, as pino hands them over) for the next write. */
  write(text: string): void {
    if (this.broken) return;
    if (this.deferred.length === 0) this.pending += text;
    else this.deferred.push(undefined, text, undefined, undefined);
    this.gathered(text.length);
  }

  /** Gathers the line `format(time, requestId, fields)`, made when the batch is written. */
  writeLater(format: typeof accessLogLine, time: string, requestId: string, fields: AccessLogFields): void {
    if (this.broken) return;
    this.deferred.push(format, time, requestId, fields);
    this.gathered(DEFERRED_LINE_CHARS);
  }

  private gathered(chars: number): void {
    this.pendingChars += chars;
    if (this.pendingChars >= this.maxChars) {
      this.flush();
    } else if (this.timer === undefined) {
      // Unreferenced: a pending line must not keep a finished process alive; `exit` writes it.
      this.timer = setTimeout(() => this.flush(), this.delayMs).unref();
    }
  }

  /** Writes everything gathered, now. */
  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    let text = this.pending;
    const { deferred } = this;
    for (let at = 0; at < deferred.length; at += 4) {
      const format = deferred[at] as typeof accessLogLine | undefined;
      text += format === undefined ? deferred[at + 1] as string
        : format(deferred[at + 1] as string, deferred[at + 2] as string, deferred[at + 3] as AccessLogFields);
    }
    this.pending = '';
    this.deferred = [];
    this.pendingChars = 0;
    if (text === '' || this.broken) return;
    this.writeAll(Buffer.from(text));
  }

  private writeAll(bytes: Buffer): void {
    let offset = 0;
    while (offset < bytes.length) {
      try {
        offset += writeSync(this.fd, bytes, offset);
      } catch (error) {
        if (RETRY_CODES.has((error as NodeJS.ErrnoException).code ?? '')) {
          pause(RETRY_PAUSE_MS);
          continue;
        }
        // EPIPE and the like: nobody reads the log any more. The server keeps serving.
        this.broken = true;
        return;
      }
    }
  }
}
