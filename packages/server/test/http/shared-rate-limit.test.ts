/**
 * Budgets shared by several nodes (http/rate-limit.ts, `CONCORDIA_RATE_LIMIT_REDIS_URL`): two
 * throttles on separate Fastify instances — two nodes — count in the Redis at 127.0.0.1:6379
 * (CI runs one too). Each test counts a random address of its own, so runs never share a key.
 */
import { randomInt } from 'node:crypto';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.ts';
import { createRequestThrottle, throttleOtherDoors } from '../../src/http/rate-limit.ts';

const REDIS_URL = process.env.CONCORDIA_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

const nodes: FastifyInstance[] = [];
afterEach(async () => {
  await Promise.all(nodes.splice(0).map((node) => node.close()));
});

async function node(env: Record<string, string>): Promise<FastifyInstance> {
  const config = loadConfig({ LOG_LEVEL: 'silent', CONCORDIA_RATE_LIMIT_WINDOW_SECONDS: '600', ...env });
  // Behind a proxy that names the client, as a load-balanced node is.
  const app = Fastify({ trustProxy: true });
  const throttle = await createRequestThrottle(app, { config: config.rateLimit });
  if (throttle === undefined) throw new Error('rate limiting is on');
  throttleOtherDoors(app, throttle);
  app.get('/ping', async () => 'pong');
  nodes.push(app);
  return app;
}

function randomAddress(): string {
  return `10.${randomInt(256)}.${randomInt(256)}.${randomInt(256)}`;
}

async function ping(app: FastifyInstance, address: string): Promise<number> {
  const response = await app.inject({ method: 'GET', url: '/ping', headers: { 'x-forwarded-for': address } });
  return response.statusCode;
}

describe('rate-limit budgets shared by several nodes', () => {
  it('counts one budget across two nodes in Redis (RFC 6585 §4)', async () => {
    const env = { CONCORDIA_RATE_LIMIT_MAX: '3', CONCORDIA_RATE_LIMIT_REDIS_URL: REDIS_URL };
    const [a, b] = [await node(env), await node(env)];
    await Promise.all([a.ready(), b.ready()]);
    const address = randomAddress();
    expect([await ping(a, address), await ping(b, address), await ping(a, address)]).toEqual([200, 200, 200]);
    // The budget of 3 is spent across both nodes: each refuses the fourth.
    expect(await ping(b, address)).toBe(429);
    expect(await ping(a, address)).toBe(429);
    // Another address has its own budget.
    expect(await ping(b, randomAddress())).toBe(200);
  });

  it('counts in memory per node without a Redis URL (the default)', async () => {
    const env = { CONCORDIA_RATE_LIMIT_MAX: '2' };
    const [a, b] = [await node(env), await node(env)];
    const address = randomAddress();
    expect([await ping(a, address), await ping(a, address), await ping(a, address)]).toEqual([200, 200, 429]);
    expect(await ping(b, address)).toBe(200);
  });

  it('lets requests through uncounted while Redis cannot be reached', async () => {
    const app = await node({
      CONCORDIA_RATE_LIMIT_MAX: '1',
      CONCORDIA_RATE_LIMIT_REDIS_URL: 'redis://127.0.0.1:1',
    });
    const address = randomAddress();
    expect([await ping(app, address), await ping(app, address)]).toEqual([200, 200]);
  });

  it('refuses a Redis URL of another scheme at start-up', () => {
    expect(() => loadConfig({ CONCORDIA_RATE_LIMIT_REDIS_URL: 'http://127.0.0.1:6379' })).toThrow(
      ConfigError,
    );
  });
});
