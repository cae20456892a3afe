// A server that stops answering with its sockets left open (every postgres process SIGSTOPped,
// as a frozen host or a hung volume would leave it) never hangs dbopt: each command exits 3
// within its bound naming the server, leaves no session behind, and the next run after
// SIGCONT heals. Every test freezes a server of its own, never the run's shared one.
import { afterEach, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import pg from 'pg';
import { runCli, type CliResult } from '../helpers/cli.js';
import { startOwnServer, type OwnServer } from '../helpers/ownServer.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
/** Long enough that only a hang reaches it; the bounds under test are a few seconds. */
const HANG_KILL_MS = 90_000;

let server: OwnServer | undefined;
const clients: pg.Client[] = [];
afterEach(async () => {
  server?.resume();
  for (const c of clients.splice(0)) await c.end().catch(() => undefined);
  await server?.stop();
  server = undefined;
});

async function ownDatabase(): Promise<{ url: string; client: pg.Client; display: string }> {
  server = await startOwnServer();
  const admin = await client(server.adminUrl);
  await admin.query('CREATE DATABASE app');
  const u = new URL(server.adminUrl);
  u.pathname = '/app';
  return { url: u.toString(), client: await client(u.toString()), display: `postgres@127.0.0.1:${server.port}/app` };
}

async function client(url: string): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: url });
  c.on('error', () => undefined);
  await c.connect();
  clients.push(c);
  return c;
}

function project(config: Record<string, unknown>, files: Record<string, string> = {}): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'dbopt-e2e-freeze-'));
  writeFileSync(path.join(dir, 'dbopt.config.json'), JSON.stringify(config));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    writeFileSync(path.join(dir, name), text);
  }
  return dir;
}

/** Wait (polling the server) until a dbopt session runs a statement matching `like` and waits on a lock. */
async function waitForStatement(c: pg.Client, like: string, opts: { lockWait?: boolean } = {}): Promise<void> {
  for (let i = 0; ; i++) {
    const { rows } = await c.query(
      `SELECT 1 FROM pg_stat_activity WHERE application_name LIKE 'dbopt%' AND query ILIKE $1 AND state = 'active'
          AND ($2::boolean IS NOT TRUE OR wait_event_type = 'Lock')`,
      [like, opts.lockWait ?? true],
    );
    if (rows.length > 0) return;
    if (i > 1200) throw new Error(`no dbopt session ever ran ${like}`);
    await sleep(50);
  }
}

/** Freeze the server once `ready` resolves, and report how long dbopt took to give up after the freeze. */
async function freezeDuring(
  run: Promise<CliResult>,
  ready: Promise<void>,
): Promise<CliResult & { afterFreezeMs: number }> {
  await ready;
  const t0 = Date.now();
  server!.freeze();
  const res = await run;
  const afterFreezeMs = Date.now() - t0;
  server!.resume();
  // Measured, not asserted (the machine is shared): printed for the record.
  process.stdout.write(`freeze: exit ${res.code} ${afterFreezeMs} ms after the freeze\n`);
  return { ...res, afterFreezeMs };
}

/** After SIGCONT: dbopt left no session on the server (its sockets were closed, its statements cancelled). */
async function noDbOptSessions(c: pg.Client): Promise<void> {
  for (let i = 0; ; i++) {
    const { rows } = await c.query(`SELECT pid, query FROM pg_stat_activity WHERE application_name LIKE 'dbopt%'`);
    if (rows.length === 0) return;
    if (i > 600) throw new Error(`dbopt sessions left on the server: ${JSON.stringify(rows)}`);
    await sleep(50);
  }
}

function expectNamedExit3(res: CliResult, display: string, password: string): void {
  expect(res.signal, res.stderr).toBeNull();
  expect(res.code, res.stderr).toBe(3);
  expect(res.stderr).toContain(display);
  expect(res.stderr).toMatch(/no answer from .* for \d+(\.\d)? s (while|during)/);
  expect(res.stderr + res.stdout).not.toContain(password);
}

describe('a frozen server', () => {
  it('migrate mid-CONCURRENTLY build exits 3 after unresponsiveAfter; after SIGCONT the next migrate heals and records once', async () => {
    const db = await ownDatabase();
    await db.client.query(`CREATE TABLE big AS SELECT i AS id, md5(i::text) AS k FROM generate_series(1, 20000) AS i`);
    const dir = project(
      { database: { unresponsiveAfter: '2s' }, migrate: { dir: 'migrations' } },
      {
        'migrations/0001_big_k.sql':
          '-- Up Migration\nCREATE INDEX CONCURRENTLY big_k_idx ON big (k);\n-- Down Migration\nDROP INDEX CONCURRENTLY big_k_idx;\n',
      },
    );
    // A writer's open transaction holds the build in its first wait, so the freeze lands mid-build.
    const writer = await client(db.url);
    await writer.query('BEGIN');
    await writer.query(`INSERT INTO big VALUES (0, 'x')`);
    let child: ChildProcess | undefined;
    const run = runCli(['migrate'], {
      cwd: dir,
      env: { DATABASE_URL: db.url },
      timeoutMs: HANG_KILL_MS,
      onSpawn: (c) => (child = c),
    });
    const res = await freezeDuring(run, waitForStatement(db.client, 'CREATE INDEX CONCURRENTLY big_k_idx%'));
    expect(child?.exitCode).not.toBeNull();
    expectNamedExit3(res, db.display, server!.password);
    expect(res.stderr).toMatch(/during migration 0001_big_k .*CREATE INDEX CONCURRENTLY big_k_idx/);
    expect(res.stderr).toMatch(/next dbopt migrate heals/);
    await writer.query('COMMIT');
    await noDbOptSessions(db.client);
    // The build was cancelled when the server woke (dbopt's cancel request, its closed socket): INVALID.
    const left = await db.client.query(
      `SELECT x.indisvalid FROM pg_index x JOIN pg_class c ON c.oid = x.indexrelid WHERE c.relname = 'big_k_idx'`,
    );
    expect(left.rows).toEqual([{ indisvalid: false }]);

    const again = await runCli(['migrate'], { cwd: dir, env: { DATABASE_URL: db.url }, timeoutMs: HANG_KILL_MS });
    expect(again.code, again.stderr).toBe(0);
    const { rows } = await db.client.query(`SELECT count(*)::int AS n FROM dbopt.migrations WHERE name = '0001_big_k'`);
    expect(rows[0].n).toBe(1);
    const valid = await db.client.query(
      `SELECT x.indisvalid FROM pg_index x JOIN pg_class c ON c.oid = x.indexrelid WHERE c.relname = 'big_k_idx'`,
    );
    expect(valid.rows).toEqual([{ indisvalid: true }]);
  });

  it('refresh-views (one-shot) mid-REFRESH exits 3 after unresponsiveAfter; after SIGCONT the next refresh succeeds', async () => {
    const db = await ownDatabase();
    await db.client.query(`CREATE TABLE base AS SELECT i AS id FROM generate_series(1, 1000) AS i`);
    await db.client.query(`CREATE MATERIALIZED VIEW mv AS SELECT id, id * 2 AS twice FROM base`);
    await db.client.query(`CREATE UNIQUE INDEX mv_id ON mv (id)`);
    const dir = project({ database: { unresponsiveAfter: '2s' }, refresh: { lockTimeout: '60s' } });
    // A lock on the base table holds the refresh in a lock wait, so the freeze lands mid-refresh.
    const reader = await client(db.url);
    await reader.query('BEGIN');
    await reader.query('LOCK TABLE base IN ACCESS EXCLUSIVE MODE');
    const run = runCli(['refresh-views', '--all'], {
      cwd: dir,
      env: { DATABASE_URL: db.url },
      timeoutMs: HANG_KILL_MS,
    });
    const res = await freezeDuring(run, waitForStatement(db.client, 'REFRESH MATERIALIZED VIEW%'));
    expectNamedExit3(res, db.display, server!.password);
    expect(res.stderr).toMatch(/keeps its previous rows/);
    await reader.query('ROLLBACK');
    await noDbOptSessions(db.client);
    const again = await runCli(['refresh-views', '--all'], {
      cwd: dir,
      env: { DATABASE_URL: db.url },
      timeoutMs: HANG_KILL_MS,
    });
    expect(again.code, again.stderr).toBe(0);
    const { rows } = await db.client.query(`SELECT outcome FROM dbopt.refresh_history ORDER BY id DESC LIMIT 1`);
    expect(rows).toEqual([{ outcome: 'ok' }]);
  });

  it('audit exits 3 at its client-side deadline (statement_timeout + a little), naming the server and the statement', async () => {
    const db = await ownDatabase();
    await db.client.query(`CREATE TABLE t AS SELECT i AS id FROM generate_series(1, 1000) AS i`);
    const dir = project(
      { audit: { queries: 'queries', statementTimeout: '2s', lockTimeout: '30s', runs: 3, warmup: 1 } },
      {
        'queries/locked.sql': '-- name: locked_count\n-- tier: cold\nSELECT count(*) FROM t;\n',
      },
    );
    const holder = await client(db.url);
    await holder.query('BEGIN');
    await holder.query('LOCK TABLE t IN ACCESS EXCLUSIVE MODE');
    const run = runCli(['audit'], { cwd: dir, env: { DATABASE_URL: db.url }, timeoutMs: HANG_KILL_MS });
    const res = await freezeDuring(run, waitForStatement(db.client, '%'));
    expectNamedExit3(res, db.display, server!.password);
    // The deadline, not the liveness bound (60 s by default here), ended it.
    expect(res.stderr).toMatch(/\(statement_timeout \d+(\.\d)? s: the server should have answered/);
    await holder.query('ROLLBACK');
    await noDbOptSessions(db.client);
  });

  it('report exits 3 at its deadline while a read waits', async () => {
    const db = await ownDatabase();
    const dir = project({ audit: { statementTimeout: '2s', lockTimeout: '30s' } });
    const first = await runCli(['refresh-views', '--all'], {
      cwd: dir,
      env: { DATABASE_URL: db.url },
      timeoutMs: HANG_KILL_MS,
    });
    expect(first.code, first.stderr).toBe(0);
    const holder = await client(db.url);
    await holder.query('BEGIN');
    await holder.query('LOCK TABLE dbopt.refresh_history IN ACCESS EXCLUSIVE MODE');
    const run = runCli(['report'], { cwd: dir, env: { DATABASE_URL: db.url }, timeoutMs: HANG_KILL_MS });
    const res = await freezeDuring(run, waitForStatement(db.client, '%'));
    expectNamedExit3(res, db.display, server!.password);
    await holder.query('ROLLBACK');
    await noDbOptSessions(db.client);
  });

  it('seed mid-load exits 3 after unresponsiveAfter and says the load may still commit or roll back', async () => {
    const db = await ownDatabase();
    await db.client.query(`CREATE TABLE t (id int)`);
    const dir = project(
      { database: { unresponsiveAfter: '2s' }, seed: { dir: 'seeds' } },
      {
        'seeds/0001_t.sql': 'INSERT INTO t SELECT g FROM generate_series(1, 1000) AS g;\n',
      },
    );
    const holder = await client(db.url);
    await holder.query('BEGIN');
    await holder.query('LOCK TABLE t IN ACCESS EXCLUSIVE MODE');
    const run = runCli(['seed'], { cwd: dir, env: { DATABASE_URL: db.url }, timeoutMs: HANG_KILL_MS });
    const res = await freezeDuring(run, waitForStatement(db.client, 'INSERT INTO t%'));
    expectNamedExit3(res, db.display, server!.password);
    expect(res.stderr).toMatch(/commit or roll back/);
    await holder.query('ROLLBACK');
    await noDbOptSessions(db.client);
    const { rows } = await db.client.query(`SELECT count(*)::int AS n FROM t`);
    expect(rows[0].n).toBe(0);
  });

  it('connecting to a frozen server exits 3 after the connect timeout, saying it gave no answer', async () => {
    const db = await ownDatabase();
    const dir = project({});
    server!.freeze();
    const t0 = Date.now();
    const res = await runCli(['report'], { cwd: dir, env: { DATABASE_URL: db.url }, timeoutMs: HANG_KILL_MS });
    process.stdout.write(`freeze: connect gave up after ${Date.now() - t0} ms (process start included)\n`);
    server!.resume();
    expect(res.code, res.stderr).toBe(3);
    expect(res.stderr).toContain(db.display);
    expect(res.stderr).toMatch(/no answer .* while connecting/);
  });

  it('--watch runs through a freeze: logs the stall, reconnects, refreshes again; --status shows its last cycle', async () => {
    const db = await ownDatabase();
    await db.client.query(`CREATE TABLE base AS SELECT i AS id FROM generate_series(1, 100) AS i`);
    await db.client.query(`CREATE MATERIALIZED VIEW mv AS SELECT id FROM base`);
    await db.client.query(`CREATE UNIQUE INDEX mv_id ON mv (id)`);
    const dir = project({ database: { unresponsiveAfter: '1s' }, refresh: { defaultSchedule: '1s' } });
    let child: ChildProcess | undefined;
    let live = '';
    const waitFor = async (re: RegExp, from = 0): Promise<number> => {
      for (let i = 0; ; i++) {
        const m = re.exec(live.slice(from));
        if (m) return from + m.index + m[0].length;
        if (i > 1200 || child?.exitCode != null) throw new Error(`never saw ${re} in:\n${live}`);
        await sleep(50);
      }
    };
    const run = runCli(['refresh-views', '--watch'], {
      cwd: dir,
      env: { DATABASE_URL: db.url },
      timeoutMs: HANG_KILL_MS,
      onSpawn: (c) => {
        child = c;
        c.stderr!.on('data', (d: Buffer) => (live += d.toString()));
      },
    });
    const firstRefresh = await waitFor(/mv: refreshed/);
    server!.freeze();
    const t0 = Date.now();
    // Frozen until the watcher notices and logs the stall; it must keep trying.
    const stall = await waitFor(/stall: /, firstRefresh);
    process.stdout.write(`freeze: --watch logged the stall ${Date.now() - t0} ms after the freeze\n`);
    server!.resume();
    await waitFor(/Reconnected to /, stall);
    await waitFor(/mv: refreshed/, stall);
    child!.kill('SIGTERM');
    const res = await run;
    expect(res.code, res.stderr).toBe(0);
    expect(res.stderr).toContain(db.display);
    expect(res.stderr + res.stdout).not.toContain(server!.password);
    const status = await runCli(['refresh-views', '--status', '--format', 'json'], {
      cwd: dir,
      env: { DATABASE_URL: db.url },
      timeoutMs: HANG_KILL_MS,
    });
    expect(status.code, status.stderr).toBe(0);
    const watchers = JSON.parse(status.stdout).result.watchers as {
      lastCycleAt?: string;
      stalls: number;
      stoppedAt?: string;
    }[];
    expect(watchers.length).toBe(1);
    expect(watchers[0]!.lastCycleAt).toBeDefined();
    expect(watchers[0]!.stalls).toBeGreaterThanOrEqual(1);
    expect(watchers[0]!.stoppedAt).toBeDefined();
  });
});

describe('a slow but answering server', () => {
  it('a build longer than unresponsiveAfter completes: answering is not hanging', async () => {
    const db = await ownDatabase();
    await db.client.query(`CREATE TABLE big AS SELECT i AS id, md5(i::text) AS k FROM generate_series(1, 300000) AS i`);
    const dir = project(
      {
        database: { unresponsiveAfter: '500ms' },
        migrate: { dir: 'migrations', maintenanceWorkMem: '1MB', parallelWorkers: 0 },
      },
      {
        'migrations/0001_big_k.sql':
          '-- Up Migration\nCREATE INDEX CONCURRENTLY big_k_idx ON big (k);\n-- Down Migration\nDROP INDEX CONCURRENTLY big_k_idx;\n',
      },
    );
    // A writer holds the build in its first wait for several bounds, then lets it go.
    const writer = await client(db.url);
    await writer.query('BEGIN');
    await writer.query(`INSERT INTO big VALUES (0, 'x')`);
    const run = runCli(['migrate'], { cwd: dir, env: { DATABASE_URL: db.url }, timeoutMs: HANG_KILL_MS });
    await waitForStatement(db.client, 'CREATE INDEX CONCURRENTLY big_k_idx%');
    await sleep(2_500);
    await writer.query('COMMIT');
    const res = await run;
    expect(res.code, res.stderr).toBe(0);
    expect(res.stderr).not.toMatch(/no answer/);
    const valid = await db.client.query(
      `SELECT x.indisvalid FROM pg_index x JOIN pg_class c ON c.oid = x.indexrelid WHERE c.relname = 'big_k_idx'`,
    );
    expect(valid.rows).toEqual([{ indisvalid: true }]);
  });
});
