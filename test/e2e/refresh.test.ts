// The built `dbopt refresh-views` binary: kill -9 in the middle of a refresh, --watch across a
// server restart and SIGTERM, and bad input (exit 2 naming the name or config key).
// The reference workload's views: refresh-workload.test.ts.
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync, chmodSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import type { ChildProcess } from 'node:child_process';
import { runCli } from '../helpers/cli.js';
import { withTestDatabase } from '../helpers/db.js';
import { waitFor as waitForProbe } from '../helpers/wait.js';
import { startEmbedded, type EmbeddedServer } from '../../src/db/embedded.js';

const db = withTestDatabase('dbopt_refresh_e2e');

function configDir(config: unknown): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'dbopt-refresh-e2e-'));
  writeFileSync(path.join(dir, 'dbopt.config.json'), JSON.stringify(config));
  return dir;
}

/** A server restart or a killed process in between: a failing probe means "not yet". */
const waitFor = <T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> =>
  waitForProbe(what, probe, { timeoutMs, ignoreErrors: true });

describe('refresh-views: kill -9 during a refresh', () => {
  it('keeps the old rows, shows the attempt unfinished, and the next run refreshes', async () => {
    const c = db.get().client;
    await c.query(`CREATE TABLE k_src (id int PRIMARY KEY, v int NOT NULL)`);
    await c.query(`INSERT INTO k_src SELECT g, 1 FROM generate_series(1, 4) AS g`);
    await c.query(`CREATE TABLE k_delay (seconds float8 NOT NULL)`);
    await c.query(`INSERT INTO k_delay VALUES (0)`);
    await c.query(`
      CREATE FUNCTION k_slow(x int) RETURNS int LANGUAGE plpgsql VOLATILE AS $$
      BEGIN PERFORM pg_sleep((SELECT seconds FROM public.k_delay)); RETURN x; END $$`);
    await c.query(`CREATE MATERIALIZED VIEW k_view AS SELECT id, public.k_slow(v) AS v FROM k_src`);
    await c.query(`CREATE UNIQUE INDEX ON k_view (id)`);
    await c.query(`UPDATE k_src SET v = 2`);
    // A refresh far longer than the test's patience: only client_connection_check_interval
    // (1s, set by dbopt on PostgreSQL 14+) ends it once its client is gone.
    await c.query(`UPDATE k_delay SET seconds = 300`);
    const dir = configDir({ refresh: { include: ['public.k_*'] } });

    let child: ChildProcess | undefined;
    const run = runCli(['refresh-views', 'k_view'], {
      cwd: dir,
      env: { DATABASE_URL: db.get().url },
      onSpawn: (ch) => (child = ch),
    });
    const pid = await waitFor('the REFRESH to start', async () => {
      const { rows } = await c.query(
        `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'REFRESH MATERIALIZED VIEW%k_view%' AND state = 'active'`,
      );
      return rows[0]?.pid as number | undefined;
    });
    child!.kill('SIGKILL');
    const r = await run;
    expect(r.signal).toBe('SIGKILL');
    // The server ends the orphaned backend once it notices the client is gone, rather than
    // finishing the refresh (holding the view's lock and its advisory lock meanwhile).
    try {
      await waitFor(
        "the killed refresher's backend to end",
        async () => {
          const { rowCount } = await c.query('SELECT 1 FROM pg_stat_activity WHERE pid = $1', [pid]);
          return rowCount === 0 ? true : undefined;
        },
        30_000,
      );
    } finally {
      await c.query('SELECT pg_terminate_backend($1)', [pid]);
    }
    expect((await c.query('SELECT DISTINCT v FROM k_view')).rows).toEqual([{ v: 1 }]);
    const unfinished = await c.query(
      `SELECT outcome, finished_at FROM dbopt.refresh_history WHERE view_name = 'public.k_view'`,
    );
    expect(unfinished.rows).toEqual([{ outcome: 'running', finished_at: null }]);

    await c.query(`UPDATE k_delay SET seconds = 0`);
    const st = await runCli(['refresh-views', '--status', '--format', 'json'], {
      cwd: dir,
      env: { DATABASE_URL: db.get().url },
    });
    expect(JSON.parse(st.stdout).result.views[0]).toMatchObject({
      view: 'public.k_view',
      unfinishedAttempts: 1,
      overdue: true,
    });
    const next = await runCli(['refresh-views'], { cwd: dir, env: { DATABASE_URL: db.get().url } });
    expect(next.code).toBe(0);
    expect(next.stdout).toMatch(/public\.k_view\s*│\s*refreshed/);
    expect((await c.query('SELECT DISTINCT v FROM k_view')).rows).toEqual([{ v: 2 }]);
    const hist = await c.query(
      `SELECT outcome, finished_at IS NULL AS unfinished FROM dbopt.refresh_history WHERE view_name = 'public.k_view' ORDER BY id`,
    );
    expect(hist.rows).toEqual([
      { outcome: 'interrupted', unfinished: true },
      { outcome: 'ok', unfinished: false },
    ]);
  });
});

describe('refresh-views --watch', () => {
  // A server of its own, so this one test can stop and start it (always PostgreSQL 18, even
  // when the run's shared server is another version).
  let server: EmbeddedServer | undefined;
  let base: string | undefined;
  afterAll(async () => {
    await server?.stop().catch(() => undefined);
    if (base) rmSync(base, { recursive: true, force: true });
  });

  it('survives a server restart and exits 0 on SIGTERM with nothing left running', async () => {
    base = mkdtempSync(path.join(tmpdir(), 'dbopt-watch-pg-'));
    chmodSync(base, 0o755);
    server = await startEmbedded({ dir: base, database: 'watch' });
    const url = server.adminUrl.replace(/\/postgres$/, '/watch');
    const admin = async <T>(fn: (c: pg.Client) => Promise<T>): Promise<T> => {
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      try {
        return await fn(c);
      } finally {
        await c.end();
      }
    };
    await admin(async (c) => {
      await c.query(`CREATE MATERIALIZED VIEW w_view AS SELECT clock_timestamp() AS at, 1 AS id`);
      await c.query(`CREATE UNIQUE INDEX ON w_view (id)`);
    });
    const dir = configDir({ refresh: { include: ['public.w_*'], schedules: { 'public.w_view': '1s' } } });
    let child: ChildProcess | undefined;
    const okCount = (since: Date): Promise<number> =>
      admin(async (c) => {
        const { rows } = await c.query(
          `SELECT count(*)::int AS n FROM dbopt.refresh_history WHERE outcome = 'ok' AND started_at > $1`,
          [since],
        );
        return rows[0].n as number;
      });
    const run = runCli(['refresh-views', '--watch'], {
      cwd: dir,
      env: { DATABASE_URL: url },
      onSpawn: (ch) => (child = ch),
    });
    await waitFor('two refreshes', async () => ((await okCount(new Date(0))) >= 2 ? true : undefined));

    await server.stop();
    await new Promise((r) => setTimeout(r, 1500));
    server = await startEmbedded({ dir: base, database: 'watch' });
    const restarted = new Date();
    await waitFor('a refresh after the restart', async () => ((await okCount(restarted)) >= 1 ? true : undefined));

    child!.kill('SIGTERM');
    const r = await run;
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('lost the connection');
    expect(r.stderr).toContain('Reconnected');
    expect(r.stdout).toContain('Stopped.');
    const left = await admin(
      async (c) =>
        (await c.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'dbopt'`)).rows[0].n,
    );
    expect(left).toBe(0);
  });
});

describe('refresh-views: bad input exits 2 naming the problem', () => {
  it('an unknown view name', async () => {
    const dir = configDir({ refresh: { include: ['public.*'] } });
    const r = await runCli(['refresh-views', 'no_such_view'], { cwd: dir, env: { DATABASE_URL: db.get().url } });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('no_such_view');
  });

  it('an invalid cron expression and a negative interval', async () => {
    const dir = configDir({ refresh: { defaultSchedule: '-5m', schedules: { 'public.k_view': '61 * * * *' } } });
    const r = await runCli(['refresh-views'], { cwd: dir, env: { DATABASE_URL: db.get().url } });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('refresh.schedules.public.k_view');
    expect(r.stderr).toContain('refresh.defaultSchedule');
  });

  it('conflicting modes', async () => {
    const r = await runCli(['refresh-views', '--watch', '--status'], { env: { DATABASE_URL: db.get().url } });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--status and --watch');
  });
});
