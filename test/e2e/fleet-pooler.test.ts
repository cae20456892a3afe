// dbopt behind a real PgBouncer in transaction mode (test/helpers/pgbouncer.ts, which discards
// all session state after every transaction): session work with only the pooled URL and
// database.pooler "transaction" is refused naming directUrl; with directUrl, five migrators at
// once still apply each migration exactly once, and refresh-views runs on the direct connection
// while audit and report go through the pooler and name its mode; with the pooler undeclared,
// refresh-views still works through it as connected directly.
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

/** Client connections PgBouncer has taken so far (its log_connections lines). */
function clientLogins(bouncer: TestPgBouncer): number {
  return bouncer
    .log()
    .split('\n')
    .filter((l) => l.includes('login attempt')).length;
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
    for (const args of [['migrate'], ['refresh-views'], ['refresh-views', '--status'], ['seed']]) {
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

  it('with directUrl, refresh-views (once and --status) runs direct while audit and report go through the pooler and name its mode', async () => {
    await db.client.query('CREATE MATERIALIZED VIEW p_counts AS SELECT 1 AS id, 2 AS n WITH NO DATA');
    await db.client.query('CREATE UNIQUE INDEX ON p_counts (id)');
    const cwd = project(root, {
      database: { pooler: 'transaction' },
      refresh: { include: ['public.p_*'] },
      audit: { queries: 'queries', runs: 3, warmup: 1 },
    });
    mkdirSync(path.join(cwd, 'queries'));
    writeFileSync(
      path.join(cwd, 'queries', 'p_one.sql'),
      '-- name: p_one\n-- tier: hot\nSELECT n FROM p_counts WHERE id = 1;\n',
    );
    const env = { DATABASE_URL: bouncer.pooled(db.url), DATABASE_DIRECT_URL: db.url };
    const logins = (): number => clientLogins(bouncer);

    const before = logins();
    const once = await runCli(['refresh-views', '--all', '--format', 'json'], { cwd, env });
    expect(once.code, once.stderr).toBe(0);
    const status = await runCli(['refresh-views', '--status', '--format', 'json'], { cwd, env });
    expect(status.code, status.stderr).toBe(0);
    const view = (
      JSON.parse(status.stdout) as { result: { views: { view: string; lastSuccess?: string }[] } }
    ).result.views.find((v) => v.view === 'public.p_counts');
    expect(view?.lastSuccess).toBeTruthy();
    // Session work never came through the pooler.
    expect(logins()).toBe(before);

    const report = await runCli(['report', '--format', 'json'], { cwd, env });
    expect(report.code, report.stderr).toBe(0);
    const r = JSON.parse(report.stdout) as {
      result: { pooler: string; views: { view: string; populated: boolean }[] };
    };
    expect(r.result.pooler).toBe('transaction');
    expect(r.result.views).toContainEqual(expect.objectContaining({ view: 'public.p_counts', populated: true }));
    const auditRun = await runCli(['audit', '--format', 'json'], { cwd, env });
    expect([0, 1], auditRun.stderr).toContain(auditRun.code);
    const a = JSON.parse(auditRun.stdout) as {
      result: { pooler: string; queries: { name: string; status: string }[] };
    };
    expect(a.result.pooler).toBe('transaction');
    expect(a.result.queries).toEqual([expect.objectContaining({ name: 'p_one', status: 'measured' })]);
    for (const command of ['report', 'audit']) {
      const table = await runCli([command], { cwd, env: { ...env, COLUMNS: '200' } });
      expect(table.stdout, table.stderr).toContain('through a transaction-mode pooler');
    }
    expect(logins()).toBeGreaterThanOrEqual(before + 4);
  });

  it('with the pooler undeclared, refresh-views (once and --status) works through it as directly', async () => {
    await db.client.query('CREATE MATERIALIZED VIEW p_sums AS SELECT 1 AS id, 3 AS n WITH NO DATA');
    await db.client.query('CREATE UNIQUE INDEX ON p_sums (id)');
    const cwd = project(root, { refresh: { include: ['public.p_sums'] } });
    const env = { DATABASE_URL: bouncer.pooled(db.url) };
    const before = clientLogins(bouncer);
    const once = await runCli(['refresh-views', '--all', '--format', 'json'], { cwd, env });
    expect(once.code, once.stderr).toBe(0);
    const status = await runCli(['refresh-views', '--status', '--format', 'json'], { cwd, env });
    expect(status.code, status.stderr).toBe(0);
    const views = (JSON.parse(status.stdout) as { result: { views: { view: string; lastSuccess?: string }[] } }).result
      .views;
    expect(views.map((v) => v.view)).toEqual(['public.p_sums']);
    expect(views[0]!.lastSuccess).toBeTruthy();
    const { rows } = await db.client.query<{ outcome: string }>(
      `SELECT outcome FROM dbopt.refresh_history WHERE view_name = 'public.p_sums'`,
    );
    expect(rows).toEqual([{ outcome: 'ok' }]);
    expect(clientLogins(bouncer)).toBeGreaterThan(before);
  });
});
