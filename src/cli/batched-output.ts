/**
 * Where the JSON log goes when it is the process's own stdout: lines are gathered and
 * written together, at most `delayMs` after the first of them, or at once when `maxBytes`
 * have gathered, and whatever is left when the process exits.
 *
 * A busy server logs a line per request. Written one by one (even asynchronously, through
 * the thread pool, as pino's own destination does), each line costs a system call and a
 * thread hand-off; with several HTTP processes each line also wakes the primary, which
 * relays it. Measured on a cache hit with two processes, that was about a fifth of the
 * request's CPU. Gathered for 10 ms, a busy process writes a few dozen lines at a time.
 * Lines are gathered as bytes; an access line is written there by `AccessLineEncoder`,
 * never made as text.
 *
 * Writes are synchronous, as Node's own stdout is for files and pipes: when the reader falls
 * behind, the server waits for it rather than holding an ever larger backlog in memory.
 */
import { writeSync } from 'node:fs';
import type { AccessLineOutput, AccessLogFields } from '../http/access-log.js';
import { AccessLineEncoder } from '../http/access-line-encoder.js';

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
  /** Bytes gathered that are written at once, without waiting. */
  readonly maxBytes?: number;
}

/** The most bytes a UTF-16 unit of text takes in UTF-8. */
const UTF8_BYTES_PER_UNIT = 3;

/** Every output made, so one `exit` listener writes what each still holds. */
const outputs = new Set<BatchedOutput>();
let flushesOnExit = false;

export class BatchedOutput implements AccessLineOutput {
  /** The lines gathered, in `batch` up to `length`; a line that does not fit in it makes it larger for one write. */
  private batch: Buffer;
  private readonly capacity: number;
  private length = 0;
  private readonly encoder = new AccessLineEncoder();
  private timer: NodeJS.Timeout | undefined;
  /** Set once the descriptor refused a write for good (its reader is gone): lines are dropped. */
  private broken = false;
  private readonly delayMs: number;
  private readonly maxBytes: number;

  constructor(private readonly fd: number, { delayMs = 10, maxBytes = 16 * 1024 }: BatchedOutputOptions = {}) {
    this.delayMs = delayMs;
    this.maxBytes = maxBytes;
    // Room for a full batch and the line that fills it.
    this.capacity = Math.max(4 * maxBytes, 64 * 1024);
    this.batch = Buffer.allocUnsafe(this.capacity);
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
    this.makeRoom(UTF8_BYTES_PER_UNIT * text.length);
    this.length += this.batch.write(text, this.length, 'utf8');
    this.gathered();
  }

  writeAccessLine(time: string, requestId: string, fields: AccessLogFields): void {
    if (this.broken) return;
    this.makeRoom(AccessLineEncoder.maxBytes(requestId, fields));
    this.length = this.encoder.encode(this.batch, this.length, time, requestId, fields);
    this.gathered();
  }

  /** Makes `bytes` of room after the lines gathered: writes them first if need be. */
  private makeRoom(bytes: number): void {
    if (this.length + bytes <= this.batch.length) return;
    this.flush();
    if (bytes > this.batch.length) this.batch = Buffer.allocUnsafe(bytes);
  }

  private gathered(): void {
    if (this.length >= this.maxBytes) {
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
    const length = this.length;
    this.length = 0;
    if (length === 0 || this.broken) return;
    this.writeAll(this.batch.subarray(0, length));
    if (this.batch.length > this.capacity) this.batch = Buffer.allocUnsafe(this.capacity);
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
