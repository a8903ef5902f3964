import { afterEach, describe, expect, it } from 'vitest';
import { requireSharedData, sharedDataDir } from './support/shared-data.ts';

describe('the shared test data helper', () => {
  const required = process.env.CONCORDIA_REQUIRE_ALL;
  afterEach(() => {
    if (required === undefined) delete process.env.CONCORDIA_REQUIRE_ALL;
    else process.env.CONCORDIA_REQUIRE_ALL = required;
  });

  it('points at ../shared/data beside the repository', () => {
    expect(sharedDataDir).toMatch(/[/\\]shared[/\\]data[/\\]$/);
  });

  it('returns null for missing data, so the tests that need it skip', () => {
    delete process.env.CONCORDIA_REQUIRE_ALL;
    expect(requireSharedData('no-such-folder')).toBeNull();
  });

  it('throws for missing data when CONCORDIA_REQUIRE_ALL=1, so CI cannot skip silently', () => {
    process.env.CONCORDIA_REQUIRE_ALL = '1';
    expect(() => requireSharedData('no-such-folder')).toThrow(/no-such-folder/);
  });
});
