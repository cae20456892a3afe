// dbopt behind a real PgBouncer in transaction mode (test/helpers/pgbouncer.ts): session work
// with only the pooled URL and database.pooler "transaction" is refused naming directUrl; with
// directUrl, five migrators at once still apply each migration exactly once.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.js';
import { pgbouncerAvailable, startPgBouncer, type TestPgBouncer } from '../helpers/pgbouncer.js';
import { runCli, type CliResult } from '../helpers/cli.js';
import type { ChildProcess } from 'node:child_process';

const MIGRATIONS = {
  '0001_orders.sql':
    "-- Up Migration\nCREATE TABLE ledger (name text NOT NULL);\nCREATE TABLE orders (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, customer int NOT NULL);\nINSERT INTO orders (customer) SELECT i % 500 FROM generate_series(1, 50000) AS i;\nINSERT INTO ledger VALUES ('0001');\n",
  '0002_orders_customer.sql': '-- Up Migration\nCREATE INDEX CONCURRENTLY orders_customer_idx ON orders (customer);\n',
  '0003_backfill.sql':
    "-- Up Migration\nINSERT INTO ledger VALUES ('0003');\nUPDATE orders SET customer = customer + 1;\n",
};

function project(root: string, config: Record<string, unknown>): string {
  const dir = mkdtempSync(path.join(root, 'p-'));
  mkdirSync(path.join(dir, 'migrations'));
  writeFileSync(
    path.join(dir, 'dbopt.config.json'),
    JSON.stringify({ migrate: { dir: 'migrations', lockWait: '20s' }, ...config }),
  );
  for (const [name, sql] of Object.entries(MIGRATIONS)) writeFileSync(path.join(dir, 'migrations', name), sql);
  return dir;
}

describe.skipIf(!pgbouncerAvailable())('through PgBouncer in transaction mode', () => {
  let db: TestDatabase;
  let bouncer: TestPgBouncer;
  let root: string;
  beforeAll(async () => {
    root = mkdtempSync(path.join(tmpdir(), 'dbopt-e2e-pooler-'));
    db = await createTestDatabase(inject('pgAdminUrl'), 'dbopt_e2e_pool');
    bouncer = await startPgBouncer(db.url, { poolSize: 4 });
  });
  afterAll(async () => {
    await bouncer?.stop();
    await db?.drop();
    rmSync(root, { recursive: true, force: true });
  });

  it('migrate, refresh-views and seed with only the pooled URL exit 2 naming directUrl; nothing ran', async () => {
    const cwd = project(root, { database: { pooler: 'transaction' } });
    for (const args of [['migrate'], ['refresh-views'], ['seed']]) {
      const r = await runCli(args, { cwd, env: { DATABASE_URL: bouncer.pooled(db.url) } });
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toContain(`${args[0] === 'refresh-views' ? 'refresh-views' : args[0]} needs a session`);
      expect(r.stderr).toContain('transaction-mode pooler');
      expect(r.stderr).toContain('database.directUrl');
    }
    const { rows } = await db.client.query(`SELECT 1 FROM pg_namespace WHERE nspname = 'dbopt'`);
    expect(rows).toEqual([]);
  });

  it('with directUrl, five migrators at once apply each migration exactly once', async () => {
    const cwd = project(root, { database: { pooler: 'transaction' } });
    const env = { DATABASE_URL: bouncer.pooled(db.url), DATABASE_DIRECT_URL: db.url };
    const runs = await Promise.all(
      Array.from({ length: 5 }, () => runCli(['migrate', '--format', 'json'], { cwd, env })),
    );
    for (const r of runs) expect([0, 4], r.stderr).toContain(r.code);
    const { rows } = await db.client.query<{ name: string; n: number }>(
      'SELECT name, count(*)::int AS n FROM dbopt.migrations GROUP BY name ORDER BY name',
    );
    expect(rows).toEqual(['0001_orders', '0002_orders_customer', '0003_backfill'].map((name) => ({ name, n: 1 })));
    const ledger = await db.client.query<{ name: string; n: number }>(
      'SELECT name, count(*)::int AS n FROM ledger GROUP BY name ORDER BY name',
    );
    expect(ledger.rows).toEqual([
      { name: '0001', n: 1 },
      { name: '0003', n: 1 },
    ]);
    const applied = runs.flatMap((r) =>
      r.code === 0 ? JSON.parse(r.stdout).result.ran.map((m: { name: string }) => m.name) : [],
    );
    expect(applied.sort()).toEqual(['0001_orders', '0002_orders_customer', '0003_backfill']);
  });
  it('two refresh-views --watch with directUrl never refresh one view twice at a time', async () => {
    await db.client.query('CREATE MATERIALIZED VIEW w_slow AS SELECT 1 AS id, pg_sleep(0.3) IS NULL AS slept');
    await db.client.query('CREATE UNIQUE INDEX ON w_slow (id)');
    const cwd = project(root, {
      database: { pooler: 'transaction' },
      refresh: { include: ['public.w_*'], schedules: { 'public.w_slow': '1s' } },
    });
    const env = { DATABASE_URL: bouncer.pooled(db.url), DATABASE_DIRECT_URL: db.url };
    const children: ChildProcess[] = [];
    const runs: Promise<CliResult>[] = [0, 1].map(() =>
      runCli(['refresh-views', '--watch'], { cwd, env, onSpawn: (c) => children.push(c) }),
    );
    const okCount = async (): Promise<number> => {
      const { rows } = await db.client.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_class WHERE relname = 'refresh_history' AND relnamespace = to_regnamespace('dbopt')`,
      );
      if (!rows[0]!.n) return 0;
      return (
        await db.client.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM dbopt.refresh_history WHERE view_name = 'public.w_slow' AND outcome = 'ok'`,
        )
      ).rows[0]!.n;
    };
    try {
      const until = Date.now() + 90_000;
      while ((await okCount()) < 4 && Date.now() < until) await new Promise((r) => setTimeout(r, 200));
    } finally {
      for (const c of children) c.kill('SIGTERM');
    }
    const results = await Promise.all(runs);
    for (const r of results) expect(r.code, `${r.stderr}\n${r.stdout}`).toBe(0);
    expect(await okCount()).toBeGreaterThanOrEqual(4);
    const { rows } = await db.client.query(
      `SELECT a.id, b.id
         FROM dbopt.refresh_history AS a
         JOIN dbopt.refresh_history AS b
           ON a.view_name = b.view_name AND a.id < b.id
          AND tstzrange(a.started_at, coalesce(a.finished_at, 'infinity')) && tstzrange(b.started_at, coalesce(b.finished_at, 'infinity'))
        WHERE a.view_name = 'public.w_slow'`,
    );
    expect(rows).toEqual([]);
  });
});
