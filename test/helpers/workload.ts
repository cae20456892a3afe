// The reference workload in tests: migrated and seeded once per server into a template
// database (named by a hash of migrations/ and seeds/, so edits rebuild it), then cloned
// per test file with CREATE DATABASE ... TEMPLATE, which copies files instead of reloading.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, inject } from 'vitest';
import pg from 'pg';
import { REPO_ROOT } from './cli.js';
import { targetFromUrl } from '../../src/db/connection.js';
import { migrate } from '../../src/migrate/index.js';
import { seed } from '../../src/seed/index.js';
import type { TestDb } from './db.js';
import { createTestDatabase, withDatabase } from './postgres.js';

export const MIGRATIONS_DIR = path.join(REPO_ROOT, 'migrations');
export const SEEDS_DIR = path.join(REPO_ROOT, 'seeds');

function workloadHash(scale: number): string {
  const h = createHash('sha1');
  for (const dir of [MIGRATIONS_DIR, SEEDS_DIR]) {
    for (const f of readdirSync(dir).sort()) h.update(f).update(readFileSync(path.join(dir, f)));
  }
  h.update(String(scale));
  return h.digest('hex').slice(0, 10);
}

/** Name of a template database holding the migrated and seeded workload at `scale`. */
export async function ensureWorkloadTemplate(adminUrl: string, scale = 1): Promise<string> {
  const name = `dbopt_tmpl_s${scale}_${workloadHash(scale)}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query('SELECT pg_advisory_lock(4242001)');
    const { rowCount } = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    const ready = rowCount
      ? await admin.query(`SELECT 1 FROM pg_database WHERE datname = $1 AND datistemplate`, [name])
      : { rowCount: 0 };
    if (!ready.rowCount) {
      // Old templates of earlier workload versions, and a half-built one of this version.
      const stale = await admin.query<{ datname: string }>(
        `SELECT datname FROM pg_database WHERE datname LIKE 'dbopt\\_tmpl\\_s${scale}\\_%'`,
      );
      for (const { datname } of stale.rows) {
        await admin.query(`ALTER DATABASE ${admin.escapeIdentifier(datname)} IS_TEMPLATE false`).catch(() => undefined);
        await admin.query(`DROP DATABASE IF EXISTS ${admin.escapeIdentifier(datname)} WITH (FORCE)`);
      }
      await admin.query(`CREATE DATABASE ${admin.escapeIdentifier(name)}`);
      const target = targetFromUrl(withDatabase(adminUrl, name), 'test');
      await migrate({ target, dir: MIGRATIONS_DIR, direction: 'up' });
      await seed({ target, dir: SEEDS_DIR, scale });
      await admin.query(`ALTER DATABASE ${admin.escapeIdentifier(name)} IS_TEMPLATE true`);
    }
  } finally {
    await admin.query('SELECT pg_advisory_unlock(4242001)').catch(() => undefined);
    await admin.end();
  }
  return name;
}

/** Clone the workload template into a fresh database for this test file. */
export async function createWorkloadDatabase(adminUrl: string, scale = 1, prefix = 'dbopt_wl'): Promise<TestDb> {
  const template = await ensureWorkloadTemplate(adminUrl, scale);
  const db = await createTestDatabase(adminUrl, prefix, template);
  return Object.assign(db, { target: targetFromUrl(db.url, 'test') });
}

/** Hooks: a migrated, seeded (scale 1) database of its own for this test file. */
export function withWorkloadDatabase(scale = 1): { get: () => TestDb } {
  let db: TestDb | undefined;
  beforeAll(async () => {
    db = await createWorkloadDatabase(inject('pgAdminUrl'), scale);
  });
  afterAll(async () => {
    await db?.drop();
  });
  return {
    get: () => {
      if (!db) throw new Error('workload database not ready');
      return db;
    },
  };
}
