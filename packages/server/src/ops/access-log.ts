/**
 * One access-log line per request (pino, with the request id), instead of Fastify's two; probes
 * and metric scrapes are not logged, so the log is not drowned by load balancers and Prometheus.
 */
import { LogController } from 'fastify';

const QUIET_PATHS = new Set(['/healthz', '/readyz', '/metrics']);

export class AccessLog extends LogController {
  constructor() {
    super({
      requestIdLogLabel: 'requestId',
      disableRequestLogging: (request) => QUIET_PATHS.has(request.url.split('?')[0] ?? ''),
    });
  }

  override incomingRequest(request: Parameters<LogController['incomingRequest']>[0]): void {
    request.log.debug({ method: request.method, url: request.url, ip: request.ip }, 'incoming request');
  }
}
