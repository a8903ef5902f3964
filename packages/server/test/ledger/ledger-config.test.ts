import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.ts';

const WITNESS = 'witness.b.example/w1+c2ad8c57+BC7HKfXVTXXDtsXxRcV44/1nFsGVZi/g8JzorCBUfsG2';

describe('ledger configuration', () => {
  it('names the log after the base URL and counts every witness by default', () => {
    const config = loadConfig({
      CONCORDIA_BASE_URL: 'https://hie.example.org/',
      CONCORDIA_LEDGER_WITNESSES: `${WITNESS}, ${WITNESS.replace('w1', 'w2')}`,
    });
    expect(config.ledger).toMatchObject({ origin: 'hie.example.org/ledger', quorum: 2, enabled: true });
    expect(config.ledger.witnessKeys).toHaveLength(2);
    expect(loadConfig({ CONCORDIA_LEDGER: 'off' }).ledger.enabled).toBe(false);
  });

  it('refuses an origin that cannot be a note key name, a malformed witness key and a quorum above the witnesses', () => {
    expect(() => loadConfig({ CONCORDIA_LEDGER_ORIGIN: 'has space' })).toThrow(ConfigError);
    expect(() => loadConfig({ CONCORDIA_LEDGER_WITNESSES: 'not-a-key' })).toThrow(/verifier key/);
    expect(() => loadConfig({ CONCORDIA_LEDGER_WITNESSES: WITNESS, CONCORDIA_LEDGER_QUORUM: '2' })).toThrow(
      /QUORUM/,
    );
  });
});
