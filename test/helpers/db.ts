// withTestDatabase(): a fresh database per test file on the run's shared server.
import { afterAll, beforeAll, inject } from 'vitest';
import { createTestDatabase, type TestDatabase } from './postgres.js';
import { targetFromUrl, type ConnectionTarget } from '../../src/db/connection.js';

export interface TestDb extends TestDatabase {
  target: ConnectionTarget;
}

/** Registers hooks that create a fresh database before the file's tests and drop it after. */
export function withTestDatabase(prefix = 'dbopt_test'): { get: () => TestDb } {
  let db: TestDb | undefined;
  beforeAll(async () => {
    const created = await createTestDatabase(inject('pgAdminUrl'), prefix);
    db = Object.assign(created, { target: targetFromUrl(created.url, 'test') });
  });
  afterAll(async () => {
    await db?.drop();
  });
  return {
    get: () => {
      if (!db) throw new Error('test database not ready');
      return db;
    },
  };
}

export function adminUrl(): string {
  return inject('pgAdminUrl');
}
