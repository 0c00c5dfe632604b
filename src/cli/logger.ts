/** The server's logger: JSON lines (pino), one object per event. */
import { pino, type Logger } from 'pino';

export function createLogger(level: string = process.env['WASIO_LOG_LEVEL'] ?? 'info'): Logger {
  return pino({ level, base: null, timestamp: pino.stdTimeFunctions.isoTime });
}
