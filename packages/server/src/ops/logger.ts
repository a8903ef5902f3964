/**
 * The process logger: pino JSON lines on stdout (DESIGN.md D18). Fastify derives a child per
 * request that carries `requestId` (app.ts sets the label), so every line of a request can be
 * found from the id the client sees in `x-request-id`.
 */
import { type DestinationStream, type Logger, pino } from 'pino';
import type { Config } from '../config.ts';

/**
 * Credentials must never reach the logs, whichever serializer or `log.info({ headers })` call
 * puts headers there.
 */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
  'headers.cookie',
  '*.headers.authorization',
  '*.headers.cookie',
];

export function createLogger(config: Pick<Config, 'logLevel'>, destination?: DestinationStream): Logger {
  const options = {
    name: 'concordia',
    level: config.logLevel,
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
    // Level names instead of numbers: log pipelines and people filter on "error", not on 50.
    formatters: { level: (label: string) => ({ level: label }) },
  };
  return destination === undefined ? pino(options) : pino(options, destination);
}
