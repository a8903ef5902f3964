/**
 * One access-log line per request (pino, with the request id), instead of Fastify's two; probes
 * and metric scrapes are not logged, so the log is not drowned by load balancers and Prometheus.
 */
import { type FastifyReply, type FastifyRequest, LogController } from 'fastify';
import { levelEnabled } from './request-logger.ts';

const QUIET_PATHS = new Set(['/healthz', '/readyz', '/metrics']);

export class AccessLog extends LogController {
  constructor() {
    super({
      requestIdLogLabel: 'requestId',
      disableRequestLogging: (request) => {
        const query = request.url.indexOf('?');
        return QUIET_PATHS.has(query === -1 ? request.url : request.url.slice(0, query));
      },
    });
  }

  // The line's fields are gathered (the client address through the trusted proxies) only when the
  // line is written at the configured level.
  override incomingRequest(request: FastifyRequest): void {
    if (!levelEnabled(request.log.level, 'debug')) return;
    request.log.debug({ method: request.method, url: request.url, ip: request.ip }, 'incoming request');
  }

  override requestCompleted(
    error: Error | null | undefined,
    request: FastifyRequest,
    reply: FastifyReply,
    metadata?: Record<string, unknown>,
  ): void {
    if (!levelEnabled(request.log.level, error ? 'error' : 'info')) return;
    super.requestCompleted(error, request, reply, metadata);
  }
}
