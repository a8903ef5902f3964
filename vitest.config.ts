import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['packages/*/test/**/*.test.ts'],
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Each file builds its own databases; two workers match the 2-core machines we target.
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
  },
});
