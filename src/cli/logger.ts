/**
 * The server's logger (pino) and the three ways it writes:
 * - `json`: one JSON object per line on stdout, for machines (the default off a terminal);
 * - `pretty`: one readable line per event on stdout (pino-pretty; the default on a terminal);
 * - `apache`: access lines in the Apache combined format on stdout, as Go WASIO printed them,
 *   and every other line, readable, on stderr.
 * Lines logged for a request carry its id in every format.
 */
import { pino, type DestinationStream, type Logger } from 'pino';
import { prettyFactory } from 'pino-pretty';
import { combinedLogLine, isAccessLogLine, isoTimeNow } from '../http/access-log.js';
import { BatchedOutput } from './batched-output.js';
import { CliUsageError } from './errors.js';

export const LOG_FORMATS = ['json', 'pretty', 'apache'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

export interface LogSettings {
  readonly format: LogFormat;
  /** A pino level: trace, debug, info, warn, error, fatal or silent. */
  readonly level: string;
}

/** Where log text goes; `isTTY` turns colours on. */
export interface TextOutput {
  write(text: string): unknown;
  readonly isTTY?: boolean;
}

export interface LogOutputs {
  readonly stdout: TextOutput;
  readonly stderr: TextOutput;
}

const LEVELS = [...Object.keys(pino.levels.values), 'silent'];

/**
 * The log format and level: the command-line choice, else `WASIO_LOG_FORMAT` /
 * `WASIO_LOG_LEVEL`, else `pretty` when stdout is a terminal (`json` otherwise) and `info`.
 * Throws `CliUsageError` naming a format or level that does not exist.
 */
export function logSettings(
  choice: { readonly logFormat?: string | undefined; readonly logLevel?: string | undefined },
  env: NodeJS.ProcessEnv = process.env,
  stdoutIsTerminal: boolean = process.stdout.isTTY === true,
): LogSettings {
  const format = choice.logFormat ?? env['WASIO_LOG_FORMAT'] ?? (stdoutIsTerminal ? 'pretty' : 'json');
  if (!(LOG_FORMATS as readonly string[]).includes(format)) {
    throw new CliUsageError(`unknown log format "${format}" (--log-format or WASIO_LOG_FORMAT): use ${LOG_FORMATS.join(', ')}`);
  }
  const level = choice.logLevel ?? env['WASIO_LOG_LEVEL'] ?? 'info';
  if (!LEVELS.includes(level)) {
    throw new CliUsageError(`unknown log level "${level}" (--log-level or WASIO_LOG_LEVEL): use ${LEVELS.join(', ')}`);
  }
  return { format: format as LogFormat, level };
}

type LogEntry = Record<string, unknown>;

/** Renders parsed log lines as one readable line each (errors add their stack below). */
function readableLines(colorize: boolean): (entry: LogEntry) => string {
  const prettify = prettyFactory({
    colorize,
    singleLine: true,
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'reqId',
    messageFormat: (entry, messageKey) => {
      const requestId = entry['reqId'];
      return `${typeof requestId === 'string' ? `[${requestId}] ` : ''}${String(entry[messageKey] ?? '')}`;
    },
  });
  return (entry) => {
    if (!isAccessLogLine(entry)) return prettify(entry);
    // An access line reads as the request it was; its other fields follow.
    const { method, path, status, durationMs, msg: _message, ...rest } = entry;
    return prettify({ ...rest, msg: `${method} ${path} ${status} ${durationMs} ms` });
  };
}

function isTerminal(output: TextOutput): boolean {
  return output.isTTY === true;
}

/** A pino destination that hands each line, parsed, to `write`. */
function parsedLines(write: (entry: LogEntry) => void): DestinationStream {
  return { write: (line: string) => write(JSON.parse(line) as LogEntry) };
}

/** A pino logger writing in `settings.format` to `outputs` (the process's own by default). */
export function createLogger(settings: LogSettings = logSettings({}), outputs: LogOutputs = process): Logger {
  // The access line is written by hand in the same shape (`accessLogLine`), with the same clock.
  const options = { level: settings.level, base: null, timestamp: (): string => `,"time":"${isoTimeNow()}"` };
  switch (settings.format) {
    case 'json':
      // The process's own stdout gets its lines in batches (see batched-output.ts).
      return pino(options, outputs === process ? new BatchedOutput(1) : outputs.stdout as DestinationStream);
    case 'pretty': {
      const readable = readableLines(isTerminal(outputs.stdout));
      return pino(options, parsedLines((entry) => outputs.stdout.write(readable(entry))));
    }
    case 'apache': {
      const readable = readableLines(isTerminal(outputs.stderr));
      return pino(options, parsedLines((entry) => {
        if (isAccessLogLine(entry)) outputs.stdout.write(combinedLogLine(entry));
        else outputs.stderr.write(readable(entry));
      }));
    }
  }
}
