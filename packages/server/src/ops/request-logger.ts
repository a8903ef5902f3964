/**
 * The logger of each request. Fastify derives one per request that carries its id (`requestId`,
 * ops/access-log.ts). A pino child is not cheap to make — its formatters are rebuilt, its bindings
 * serialised through the redaction (ops/logger.ts) and its level methods bound, about 2% of the
 * server's CPU per `$validate-code` (docs/terminology.md) — and at the default levels most
 * requests never write a line. So the request gets a stand-in that becomes that same pino child
 * (same parent, bindings and options) the first time it writes at an enabled level: the same
 * lines, and no child for a request that writes none.
 */
import type { FastifyBaseLogger } from 'fastify';
import type { Bindings, ChildLoggerOptions } from 'pino';

/** pino's levels (pino/lib/constants.js); `silent` is above them all. */
const LEVEL_VALUES: Readonly<Record<string, number>> = {
  trace: 10,
  debug: 20,
  info: 30,
  warn: 40,
  error: 50,
  fatal: 60,
  silent: Number.POSITIVE_INFINITY,
};

/**
 * Whether a logger at `threshold` writes a line at `level`. A level it does not know (a custom
 * one) counts as enabled, so the logger itself decides.
 */
export function levelEnabled(threshold: string, level: string): boolean {
  const thresholdValue = LEVEL_VALUES[threshold];
  const levelValue = LEVEL_VALUES[level];
  if (thresholdValue === undefined || levelValue === undefined) return true;
  return levelValue >= thresholdValue;
}

type WritingLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';

class DeferredRequestLogger implements FastifyBaseLogger {
  private built: FastifyBaseLogger | undefined;

  constructor(
    private readonly parent: FastifyBaseLogger,
    private readonly bindings: Bindings,
    private readonly options: ChildLoggerOptions,
  ) {}

  get level(): string {
    return this.built?.level ?? this.options.level ?? this.parent.level;
  }

  set level(level: string) {
    this.logger().level = level;
  }

  fatal(...args: unknown[]): void {
    this.write('fatal', args);
  }

  error(...args: unknown[]): void {
    this.write('error', args);
  }

  warn(...args: unknown[]): void {
    this.write('warn', args);
  }

  info(...args: unknown[]): void {
    this.write('info', args);
  }

  debug(...args: unknown[]): void {
    this.write('debug', args);
  }

  trace(...args: unknown[]): void {
    this.write('trace', args);
  }

  silent(..._args: unknown[]): void {}

  child(bindings: Bindings, options?: ChildLoggerOptions): FastifyBaseLogger {
    return this.logger().child(bindings, options);
  }

  private write(level: WritingLevel, args: unknown[]): void {
    if (!levelEnabled(this.level, level)) return;
    const logger = this.logger();
    // The arguments go on exactly as given (object, message, format arguments).
    Reflect.apply(logger[level], logger, args);
  }

  private logger(): FastifyBaseLogger {
    this.built ??= this.parent.child(this.bindings, this.options);
    return this.built;
  }
}

/** Fastify's `childLoggerFactory`: the request's logger, made a pino child only when it writes. */
export function deferredRequestLogger(
  logger: FastifyBaseLogger,
  bindings: Bindings,
  options: ChildLoggerOptions,
): FastifyBaseLogger {
  return new DeferredRequestLogger(logger, bindings, options);
}
