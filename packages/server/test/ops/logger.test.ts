import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/ops/logger.ts';
import { capturedLog } from '../support/log-capture.ts';

describe('createLogger', () => {
  it('writes JSON lines with a level name and an ISO timestamp', () => {
    const { stream, lines } = capturedLog();
    createLogger({ logLevel: 'info' }, stream).info('hello');
    expect(lines()).toMatchObject([
      { level: 'info', msg: 'hello', name: 'concordia', time: expect.stringMatching(/^\d{4}-/) },
    ]);
  });

  it('honours the configured level', () => {
    const { stream, lines } = capturedLog();
    const logger = createLogger({ logLevel: 'warn' }, stream);
    logger.info('dropped');
    logger.warn('kept');
    expect(lines().map((line) => line.msg)).toEqual(['kept']);
  });

  it('never writes authorization or cookie headers', () => {
    const { stream, lines } = capturedLog();
    createLogger({ logLevel: 'info' }, stream).info(
      {
        req: {
          headers: {
            authorization: 'Bearer secret-token',
            cookie: 'sid=secret',
            accept: 'application/fhir+json',
          },
        },
      },
      'request',
    );
    const text = JSON.stringify(lines());
    expect(text).not.toContain('secret');
    expect(lines()[0]).toMatchObject({
      req: { headers: { authorization: '[redacted]', accept: 'application/fhir+json' } },
    });
  });
});
