// The least-privileged role the README gives audit and report on production
// (pg_read_all_data, pg_monitor) is enough for both; the cold tier is then measured warm and
// says why (eviction needs a superuser).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { withTestDatabase, adminUrl } from '../helpers/db.js';
import { REPO_ROOT } from '../helpers/cli.js';
import { resolveConfig } from '../../src/config.js';
import { targetFromUrl } from '../../src/db/connection.js';
import { audit } from '../../src/audit/index.js';
import { health } from '../../src/health/index.js';

const db = withTestDatabase('dbopt_role');
const role = `dbopt_ro_${process.pid}`;
const password = randomBytes(12).toString('hex');
const dir = mkdtempSync(path.join(tmpdir(), 'dbopt-role-'));
const config = resolveConfig({}, { rootDir: REPO_ROOT, env: {}, overrides: {} });

async function admin(sql: string): Promise<void> {
  const c = new pg.Client({ connectionString: adminUrl() });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

beforeAll(async () => {
  const c = db.get().client;
  await c.query(`CREATE TABLE items (id int PRIMARY KEY, code int NOT NULL)`);
  await c.query(`INSERT INTO items SELECT i, i % 100 FROM generate_series(1, 5000) AS i`);
  await c.query('CREATE INDEX items_code_idx ON items (code)');
  await c.query('CREATE EXTENSION IF NOT EXISTS pg_buffercache');
  await c.query('VACUUM ANALYZE items');
  await admin(`CREATE ROLE ${role} LOGIN PASSWORD '${password}'`);
  await admin(`GRANT pg_read_all_data, pg_monitor TO ${role}`);
  writeFileSync(
    path.join(dir, 'hot.sql'),
    '-- name: by_code\n-- tier: hot\n-- params-from: SELECT code FROM items LIMIT 5\nSELECT id FROM items WHERE code = $1;\n',
  );
  writeFileSync(
    path.join(dir, 'cold.sql'),
    '-- name: all_codes\n-- tier: cold\n-- budget: 2s\nSELECT count(DISTINCT code) FROM items;\n',
  );
});
afterAll(async () => {
  await admin(`DROP ROLE IF EXISTS ${role}`).catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
});

describe('audit and report as pg_read_all_data + pg_monitor', () => {
  it('measures every query; cold is measured warm, labelled', async () => {
    const url = new URL(db.get().url);
    url.username = role;
    url.password = password;
    const target = targetFromUrl(url.toString(), 'test');
    const r = await audit({
      target,
      audit: { ...config.audit, runs: 3, warmup: 1 },
      refresh: config.refresh,
      queriesDir: dir,
      baselineFile: path.join(dir, 'baseline.json'),
    });
    expect(r.queries.map((q) => [q.name, q.status])).toEqual([
      ['all_codes', 'measured'],
      ['by_code', 'measured'],
    ]);
    expect(r.queries.find((q) => q.name === 'all_codes')!.cold).toMatchObject({ mode: 'unsupported' });
    // 17+: eviction exists but needs a superuser; before 17 it does not exist at all.
    expect(r.cold.label).toMatch(/needs a superuser|pg_buffercache_evict needs 17\+/);
    const h = await health({ target, audit: config.audit, refresh: config.refresh });
    expect(h.indexes.map((i) => i.index)).toContain('items_code_idx');
  });
});
