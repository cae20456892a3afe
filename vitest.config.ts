import { defineConfig } from 'vitest/config';

// Three projects: unit (pure logic), integration (real PostgreSQL, a fresh database per
// file), e2e (the built bin/dbopt.js). The server comes from test/helpers/globalSetup.ts:
// embedded PostgreSQL 18 by default, DBOPT_TEST_DATABASE_URL, or testcontainers.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          globalSetup: ['test/helpers/globalSetup.ts'],
          testTimeout: 120_000,
          hookTimeout: 180_000,
          pool: 'forks',
          maxWorkers: 2,
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          globalSetup: ['test/helpers/globalSetup.ts'],
          testTimeout: 180_000,
          hookTimeout: 180_000,
          pool: 'forks',
          maxWorkers: 2,
        },
      },
    ],
  },
});
