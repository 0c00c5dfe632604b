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

/** Every output made, so one `exit` listener writes what each still holds. */
const outputs = new Set<BatchedOutput>();
let flushesOnExit = false;

export class BatchedOutput {
  private pending = '';
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
    this.pending += text;
    if (this.pending.length >= this.maxChars) {
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
    if (this.pending === '' || this.broken) return;
    const bytes = Buffer.from(this.pending);
    this.pending = '';
    this.writeAll(bytes);
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
