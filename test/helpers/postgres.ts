// startPostgres() (the run's server: DBOPT_TEST_DATABASE_URL, testcontainers, else embedded) and
// createTestDatabase() (a fresh database, empty or a copy of a template); withTestDatabase() is in db.ts.
import { mkdtempSync, chmodSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';

export interface TestServer {
  adminUrl: string;
  backend: 'embedded' | 'url' | 'testcontainers';
  /** Data directory of the embedded server (tests that restart it need it). */
  dataDir?: string;
  stop(): Promise<void>;
}

export async function startPostgres(): Promise<TestServer> {
  if (process.env.DBOPT_TEST_DATABASE_URL) {
    const adminUrl = process.env.DBOPT_TEST_DATABASE_URL;
    return { adminUrl, backend: 'url', stop: async () => undefined };
  }
  if (process.env.DBOPT_TEST_BACKEND === 'testcontainers') {
    const { startContainer } = await import('./containers.js');
    const container = await startContainer();
    return { adminUrl: container.adminUrl, backend: 'testcontainers', stop: container.stop };
  }
  const { startEmbedded } = await import('../../src/db/embedded.js');
  const base = mkdtempSync(path.join(tmpdir(), 'dbopt-test-pg-'));
  chmodSync(base, 0o755);
  const server = await startEmbedded({ dir: base, database: 'postgres' });
  return {
    adminUrl: server.adminUrl,
    backend: 'embedded',
    dataDir: server.dataDir,
    stop: async () => {
      await server.stop();
      rmSync(base, { recursive: true, force: true });
    },
  };
}

export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

export interface TestDatabase {
  url: string;
  name: string;
  /** A client connected to the test database (closed by drop()). */
  client: pg.Client;
  drop(): Promise<void>;
}

/** A fresh database on the shared server: empty, or a copy of `template`. */
export async function createTestDatabase(
  adminUrl: string,
  prefix = 'dbopt_test',
  template?: string,
): Promise<TestDatabase> {
  const name = `${prefix}_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    const from = template ? ` TEMPLATE ${admin.escapeIdentifier(template)}` : '';
    // A template must have no other sessions while it is copied: retry while one lingers.
    for (let i = 0; ; i++) {
      try {
        await admin.query(`CREATE DATABASE ${admin.escapeIdentifier(name)}${from}`);
        break;
      } catch (err) {
        if ((err as { code?: string }).code !== '55006' || i > 50) throw err;
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  } finally {
    await admin.end();
  }
  const url = withDatabase(adminUrl, name);
  const client = new pg.Client({ connectionString: url });
  client.on('error', () => undefined);
  await client.connect();
  return {
    url,
    name,
    client,
    drop: async () => {
      await client.end().catch(() => undefined);
      await dropDatabase(adminUrl, name);
    },
  };
}

export async function dropDatabase(adminUrl: string, name: string): Promise<void> {
  const a = new pg.Client({ connectionString: adminUrl });
  await a.connect();
  try {
    await a.query(`DROP DATABASE IF EXISTS ${a.escapeIdentifier(name)} WITH (FORCE)`);
  } finally {
    await a.end();
  }
}

/** Server major version of a connection. */
export async function serverMajor(client: pg.Client): Promise<number> {
  const { rows } = await client.query<{ server_version_num: string }>('SHOW server_version_num');
  return Math.floor(Number(rows[0]!.server_version_num) / 10000);
}
