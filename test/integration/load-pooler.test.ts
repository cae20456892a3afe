// The load phase through a real PgBouncer in transaction mode, which refuses the load
// session's startup parameters (08P01): the engine reconnects with application_name only and
// each request carries its own read-only transaction and limits, so the run completes without
// an error, a write in the mix still fails 25006 and statement_timeout still ends a slow one.
// `audit --load` through the pooler completes too, and the audit's single-client timer turns to
// the same per-run transaction (one round trip per run, nothing left in the session).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { withTestDatabase } from '../helpers/db.js';
import { pgbouncerAvailable, startPgBouncer, type TestPgBouncer } from '../helpers/pgbouncer.js';
import { REPO_ROOT } from '../helpers/cli.js';
import { resolveConfig } from '../../src/config.js';
import { targetFromUrl } from '../../src/db/connection.js';
import { runLoad, type LoadOptions } from '../../src/audit/load/engine.js';
import { audit } from '../../src/audit/index.js';
import { singleClient } from '../../src/audit/load/single.js';

const db = withTestDatabase('dbopt_load_pooler');

/**
 * A proxy that drops every startup parameter but user, database and application_name, as a
 * pooler with ignore_startup_parameters does, then relays both ways.
 */
async function ignoringProxy(serverUrl: string): Promise<{ url: string; close: () => void }> {
  const upstream = new URL(serverUrl);
  const proxy = net.createServer((client) => {
    client.once('data', (first: Buffer) => {
      const parts = first
        .subarray(8, first.length - 1)
        .toString('utf8')
        .split('\0');
      const kept: string[] = [];
      for (let i = 0; i + 1 < parts.length; i += 2)
        if (['user', 'database', 'application_name'].includes(parts[i]!)) kept.push(parts[i]!, parts[i + 1]!);
      const body = Buffer.from(kept.join('\0') + '\0\0');
      const head = Buffer.alloc(8);
      head.writeInt32BE(8 + body.length, 0);
      first.copy(head, 4, 4, 8);
      const server = net.connect(Number(upstream.port), upstream.hostname, () => {
        server.write(Buffer.concat([head, body]));
        client.pipe(server).pipe(client);
      });
      server.on('error', () => client.destroy());
      client.on('error', () => server.destroy());
    });
  });
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', () => r()));
  const u = new URL(serverUrl);
  // The proxy listens on loopback whatever host the server is on (a container's is not).
  u.hostname = '127.0.0.1';
  u.port = String((proxy.address() as net.AddressInfo).port);
  u.searchParams.set('sslmode', 'disable');
  return { url: u.toString(), close: () => proxy.close() };
}

describe('a pooler that ignores startup parameters', () => {
  it('is found out before any request, and the load runs with per-request limits', async () => {
    const c = db.get().client;
    await c.query('CREATE TABLE IF NOT EXISTS ignored (id int)');
    const proxy = await ignoringProxy(db.get().url);
    try {
      const r = await runLoad({
        target: targetFromUrl(proxy.url, 'test'),
        client: c,
        queries: [{ name: 'write', weight: 1, params: [], placeholders: 0, text: 'INSERT INTO ignored VALUES (1)' }],
        model: { kind: 'closed', concurrency: 2 },
        connections: 2,
        durationMs: 1000,
        warmupMs: 0,
        statementTimeoutMs: 5000,
        lockTimeoutMs: 1000,
        maxConnectionShare: 0.5,
      });
      expect(r.pooled).toBe(true);
      expect(r.queries[0]!.errorSamples.map((e) => e.code)).toEqual(['25006']);
      // Every request fails and is rolled back: its connection serves again once the ROLLBACK
      // is done, so requests go on through the window rather than stall after the first few.
      expect(r.requests).toBeGreaterThan(4 * r.connections);
      expect(r.errors).toBe(r.requests);
      const { rows } = await c.query('SELECT count(*)::int AS n FROM ignored');
      expect(rows[0].n).toBe(0);
    } finally {
      proxy.close();
    }
  });
});

describe('a declared transaction pooler (database.pooler "transaction")', () => {
  it('runs the load pooled and times the runs pooled, whatever the server accepts', async () => {
    const c = db.get().client;
    await c.query('CREATE TABLE IF NOT EXISTS declared (id int PRIMARY KEY)');
    await c.query('INSERT INTO declared VALUES (1) ON CONFLICT DO NOTHING');
    const dir = mkdtempSync(path.join(tmpdir(), 'dbopt-load-declared-'));
    writeFileSync(
      path.join(dir, 'one.sql'),
      '-- name: one\n-- budget: 1s\n-- params: [[1]]\nSELECT id FROM declared WHERE id = $1;\n',
    );
    const config = resolveConfig({}, { rootDir: REPO_ROOT, env: {}, overrides: {} });
    const result = await audit({
      target: targetFromUrl(db.get().url, 'test'),
      audit: { ...config.audit, runs: 3, warmup: 1 },
      refresh: config.refresh,
      queriesDir: dir,
      baselineFile: path.join(dir, 'baseline.json'),
      pooler: 'transaction',
      load: {
        settings: { ...config.audit.load, connections: 2, concurrency: 4, durationMs: 300, warmupMs: 0 },
      },
    });
    expect(result.queries.map((q) => q.status)).toEqual(['measured']);
    expect(result.load?.pooled).toBe(true);
    expect(result.load?.pipeline).toBe(1);
    expect(result.load?.errors).toBe(0);
  });
});

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

  it('the single-client timer turns pooled when its startup parameters are refused, its limits travelling with each run', async () => {
    const timer = singleClient(targetFromUrl(bouncer.pooled(db.get().url), 'test'), {
      statementTimeoutMs: 5000,
      lockTimeoutMs: 1000,
    });
    try {
      const t = await timer.time('SELECT label FROM items WHERE id = $1', [['1'], ['2']], 1, 6, 1);
      expect(timer.pooled).toBe(true);
      expect(t.timings).toHaveLength(6);
      // Unnamed statements through the pooler: planned for each run, whatever audit.planCache says.
      expect(t.plan.plan).toBe('custom');
      expect(t.plan.reason).toMatch(/transaction pooler/);
      await timer.setStatementTimeout(100);
      const slow = await timer.time('SELECT pg_sleep(1)', [], 0, 1, 0).catch((e: unknown) => e);
      expect((slow as { code?: string }).code).toBe('57014');
      const write = await timer
        .time('CREATE TABLE timer_should_not_exist (id int)', [], 0, 1, 0)
        .catch((e: unknown) => e);
      expect((write as { code?: string }).code).toBe('25006');
      // Nothing stayed behind on the server connections the pooler shares.
      const { rows } = await client.query(`SELECT current_setting('statement_timeout') AS t`);
      expect(rows[0].t).toBe('0');
    } finally {
      await timer.end();
    }
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
      pooler: 'transaction',
      load: {
        settings: { ...config.audit.load, connections: 2, concurrency: 8, durationMs: 500, warmupMs: 100 },
      },
    });
    expect(result.queries.map((q) => q.status)).toEqual(['measured']);
    expect(result.load?.pooled).toBe(true);
    expect(result.load?.errors).toBe(0);
    expect(result.load?.requests).toBeGreaterThan(0);
  });
});
