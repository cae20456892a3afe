// One PostgreSQL server per test run, shared by every test file through `inject('pgAdminUrl')`.
// Backends: embedded PostgreSQL 18 (default), DBOPT_TEST_DATABASE_URL (any server, e.g. the
// system PostgreSQL 15), DBOPT_TEST_BACKEND=testcontainers (where a Docker engine exists).
import type { TestProject } from 'vitest/node';
import { startPostgres } from './postgres.js';

declare module 'vitest' {
  export interface ProvidedContext {
    pgAdminUrl: string;
    pgBackend: string;
    pgDataDir: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const server = await startPostgres().catch((err: unknown) => {
    // A backend the developer has to start or build: its message alone, not a stack trace.
    if (!(err instanceof Error && err.name === 'TestBackendError')) throw err;
    process.stderr.write(`\n${err.message}\n\n`);
    process.exit(1);
  });
  project.provide('pgAdminUrl', server.adminUrl);
  project.provide('pgBackend', server.backend);
  project.provide('pgDataDir', server.dataDir ?? '');
  return async () => {
    await server.stop();
  };
}
