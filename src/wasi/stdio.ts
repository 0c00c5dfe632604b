/**
 * The standard streams of a guest: where stdin comes from and where stdout/stderr go.
 * Sinks receive views of guest memory that are only valid during the call, so a sink that
 * keeps data copies it, and one that forwards it (to a file descriptor) does not.
 */
import { readSync, writeSync } from 'node:fs';
import { errno } from './errors.js';

/** Where a guest's stdout or stderr goes. */
export interface OutputSink {
  /** Takes one chunk. `chunk` views guest memory: copy it to keep it. */
  write(chunk: Uint8Array): void;
}

/** Keeps everything written to it, for a caller that wants the bytes after the run. */
export class CaptureSink implements OutputSink {
  private readonly chunks: Buffer[] = [];
  private length = 0;

  write(chunk: Uint8Array): void {
    this.chunks.push(Buffer.from(chunk));
    this.length += chunk.byteLength;
  }

  /** Bytes written so far, as one buffer. */
  bytes(): Buffer {
    if (this.chunks.length === 1) return this.chunks[0] as Buffer;
    return Buffer.concat(this.chunks, this.length);
  }

  /** Bytes written so far, decoded as UTF-8. */
  text(): string {
    return this.bytes().toString('utf8');
  }

  get byteLength(): number {
    return this.length;
  }
}

/** Forwards output to a host file descriptor (the process's own stdout, for `wasio run`). */
export class FdSink implements OutputSink {
  constructor(private readonly fd: number) {}

  write(chunk: Uint8Array): void {
    let offset = 0;
    while (offset < chunk.byteLength) {
      try {
        offset += writeSync(this.fd, chunk, offset, chunk.byteLength - offset);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EAGAIN') throw error;
        sleepMs(1);
      }
    }
  }
}

/** Drops output. */
export const DISCARD: OutputSink = { write() {} };

/** Where a guest's stdin comes from. */
export interface InputSource {
  /** Fills `target` from the front; returns the count, 0 at end of input. */
  read(target: Uint8Array): number;
  /** Bytes known to be ready without blocking (for `poll_oneoff`). */
  available(): number;
}

/** stdin from bytes held in memory (a request body). */
export class BufferSource implements InputSource {
  private offset = 0;

  constructor(private readonly data: Uint8Array) {}

  read(target: Uint8Array): number {
    const count = Math.min(target.byteLength, this.data.byteLength - this.offset);
    if (count <= 0) return 0;
    target.set(this.data.subarray(this.offset, this.offset + count));
    this.offset += count;
    return count;
  }

  available(): number {
    return this.data.byteLength - this.offset;
  }
}

/** stdin read on demand from a host file descriptor (the process's own, for `wasio run`). */
export class FdSource implements InputSource {
  private ended = false;

  constructor(private readonly fd: number) {}

  read(target: Uint8Array): number {
    if (this.ended || target.byteLength === 0) return 0;
    for (;;) {
      try {
        const count = readSync(this.fd, target, 0, target.byteLength, null);
        if (count === 0) this.ended = true;
        return count;
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === 'EOF') {
          this.ended = true;
          return 0;
        }
        if (code !== 'EAGAIN') throw errno('io');
        sleepMs(1);
      }
    }
  }

  available(): number {
    return this.ended ? 0 : 1;
  }
}

export const EMPTY_INPUT: InputSource = new BufferSource(new Uint8Array(0));

const sleepCell = new Int32Array(new SharedArrayBuffer(4));

/** Blocks the calling thread. Guests are synchronous, so waiting means really waiting. */
export function sleepMs(ms: number): void {
  if (ms > 0) Atomics.wait(sleepCell, 0, 0, ms);
}
