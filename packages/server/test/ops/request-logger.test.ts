import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/ops/logger.ts';
import { deferredRequestLogger, levelEnabled } from '../../src/ops/request-logger.ts';
import { capturedLog } from '../support/log-capture.ts';

describe('the per-request logger', () => {
  it('writes the lines of a pino child: the request id bound, headers redacted, format arguments applied', () => {
    const { stream, lines } = capturedLog();
    const log = deferredRequestLogger(createLogger({ logLevel: 'info' }, stream), { requestId: 'r-1' }, {});
    log.info({ req: { headers: { authorization: 'Bearer secret' } } }, 'seen %s', 'twice');
    log.child({ step: 'inner' }).warn('nested');
    expect(lines()).toMatchObject([
      {
        level: 'info',
        requestId: 'r-1',
        msg: 'seen twice',
        req: { headers: { authorization: '[redacted]' } },
      },
      { level: 'warn', requestId: 'r-1', step: 'inner', msg: 'nested' },
    ]);
    expect(JSON.stringify(lines())).not.toContain('secret');
  });

  it('writes nothing below the configured level, and follows a level given for the request', () => {
    const { stream, lines } = capturedLog();
    const parent = createLogger({ logLevel: 'warn' }, stream);
    const log = deferredRequestLogger(parent, { requestId: 'r-2' }, {});
    log.info('dropped');
    log.debug('dropped');
    log.error('kept');
    const verbose = deferredRequestLogger(parent, { requestId: 'r-3' }, { level: 'debug' });
    expect(verbose.level).toBe('debug');
    verbose.debug('kept too');
    expect(lines().map((line) => [line.requestId, line.msg])).toEqual([
      ['r-2', 'kept'],
      ['r-3', 'kept too'],
    ]);
  });

  it('compares levels as pino orders them, leaving unknown levels to the logger', () => {
    expect(levelEnabled('warn', 'error')).toBe(true);
    expect(levelEnabled('warn', 'info')).toBe(false);
    expect(levelEnabled('silent', 'fatal')).toBe(false);
    expect(levelEnabled('trace', 'trace')).toBe(true);
    expect(levelEnabled('warn', 'audit')).toBe(true);
  });
});
