// The load phase through a real PgBouncer in transaction mode, which refuses the load
// session's startup parameters (08P01): the engine reconnects with application_name only and
// each request carries its own read-only transaction and limits, so the run completes without
// an error, a write in the mix still fails 25006 and statement_timeout still ends a slow one.
// `audit --load` through the pooler completes too (its timed runs fall back to the envelope).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { withTestDatabase } from '../helpers/db.js';
import { pgbouncerAvailable, startPgBouncer, type TestPgBouncer } from '../helpers/pgbouncer.js';
import { REPO_ROOT } from '../helpers/cli.js';
import { resolveConfig } from '../../src/config.js';
import { targetFromUrl } from '../../src/db/connection.js';
import { runLoad, type LoadOptions } from '../../src/load/engine.js';
import { audit } from '../../src/audit/index.js';

const db = withTestDatabase('dbopt_load_pooler');

describe.skipIf(!pgbouncerAvailable())('load through PgBouncer (transaction mode)', () => {
  let bouncer: TestPgBouncer;
  let client: pg.Client;
  beforeAll(async () => {
    const c = db.get().client;
    await c.query('CREATE TABLE items (id int PRIMARY KEY, label text NOT NULL)');
    await c.query(`INSERT INTO items SELECT g, 'item ' || g FROM generate_series(1, 1000) AS g`);
    await c.query('ANALYZE');
    bouncer = await startPgBouncer(db.get().url, { poolSize: 4 });
    client = new pg.Client({ connectionString: bouncer.pooled(db.get().url) });
    await client.connect();
  });
  afterAll(async () => {
    await client?.end().catch(() => undefined);
    await bouncer?.stop();
  });

  const options = (extra: Partial<LoadOptions>): LoadOptions => ({
    target: targetFromUrl(bouncer.pooled(db.get().url), 'test'),
    client,
    queries: [
      {
        name: 'item_by_id',
        text: 'SELECT id, label FROM items WHERE id = $1',
        weight: 1,
        params: [['1'], ['77'], ['500']],
        placeholders: 1,
      },
    ],
    model: { kind: 'closed', concurrency: 20 },
    connections: 4,
    durationMs: 800,
    warmupMs: 100,
    statementTimeoutMs: 5000,
    lockTimeoutMs: 1000,
    maxConnectionShare: 0.5,
    ...extra,
  });

  it('completes with zero errors on sessions the pooler accepts', async () => {
    const r = await runLoad(options({}));
    expect(r.errors, JSON.stringify(r.queries[0]!.errorSamples)).toBe(0);
    expect(r.requests).toBeGreaterThan(0);
    expect(r.partial).toBe(false);
    expect(r.pooled).toBe(true);
    expect(r.pipeline).toBe(1);
  });

  it('keeps every request read-only and time-bounded', async () => {
    const r = await runLoad(
      options({
        queries: [
          { name: 'write', weight: 1, params: [], placeholders: 0, text: 'CREATE TABLE should_not_exist (id int)' },
          { name: 'slow', weight: 1, params: [], placeholders: 0, text: 'SELECT pg_sleep(1)' },
          { name: 'read', weight: 1, params: [['1']], placeholders: 1, text: 'SELECT label FROM items WHERE id = $1' },
        ],
        statementTimeoutMs: 150,
        // Requests still queued when the window closes are served, not left unsent.
        graceMs: 3000,
        model: { kind: 'closed', concurrency: 4 },
        durationMs: 600,
        warmupMs: 0,
      }),
    );
    const [write, slow, read] = r.queries;
    expect(write!.errors).toBeGreaterThan(0);
    expect(write!.errorSamples.map((e) => e.code)).toEqual(['25006']);
    expect(slow!.errorSamples.map((e) => e.code)).toEqual(['57014']);
    // A failed transaction is rolled back before the connection serves the next request.
    expect(read!.errors).toBe(0);
    expect(read!.requests).toBeGreaterThan(0);
    const { rows } = await db.get().client.query(`SELECT to_regclass('should_not_exist') AS t`);
    expect(rows[0].t).toBeNull();
  });

  it('audit --load completes through the pooler', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'dbopt-load-pooler-'));
    writeFileSync(
      path.join(dir, 'item.sql'),
      '-- name: item_by_id\n-- budget: 1s\n-- params: [[1], [77]]\nSELECT id, label FROM items WHERE id = $1;\n',
    );
    const config = resolveConfig({}, { rootDir: REPO_ROOT, env: {}, overrides: {} });
    const result = await audit({
      target: targetFromUrl(bouncer.pooled(db.get().url), 'test'),
      audit: { ...config.audit, runs: 5, warmup: 1 },
      refresh: config.refresh,
      queriesDir: dir,
      baselineFile: path.join(dir, 'baseline.json'),
      load: {
        settings: { ...config.audit.load, connections: 2, concurrency: 8, durationMs: 500, warmupMs: 100 },
      },
    });
    expect(result.queries.map((q) => q.status)).toEqual(['measured']);
    expect(result.load?.errors).toBe(0);
    expect(result.load?.requests).toBeGreaterThan(0);
  });
});
