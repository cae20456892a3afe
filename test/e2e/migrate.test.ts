// The built dbopt migrate under faults: kill -9 and SIGTERM during a CONCURRENTLY build, five
// migrators at once, lint refusing before connecting, an edited applied migration.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { appendFileSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { REPO_ROOT, runCli, type CliResult } from '../helpers/cli.js';
import { junitProblems } from '../fixtures/audit/junitShape.js';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.js';

function project(files: Record<string, string>, migrate: Record<string, unknown> = {}): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'dbopt-e2e-migrate-'));
  mkdirSync(path.join(dir, 'migrations'));
  writeFileSync(path.join(dir, 'dbopt.config.json'), JSON.stringify({ migrate: { dir: 'migrations', ...migrate } }));
  for (const [name, sql] of Object.entries(files)) writeFileSync(path.join(dir, 'migrations', name), sql);
  return dir;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Start `dbopt migrate`, wait until the build of `index` is really scanning, then send `signal`. */
async function interruptBuild(
  db: TestDatabase,
  cwd: string,
  index: string,
  signal: NodeJS.Signals,
): Promise<CliResult> {
  let child: ChildProcess | undefined;
  const run = runCli(['migrate'], { cwd, env: { DATABASE_URL: db.url }, onSpawn: (c) => (child = c) });
  for (let i = 0; ; i++) {
    const { rows } = await db.client.query(
      `SELECT p.phase, p.blocks_done FROM pg_stat_progress_create_index p JOIN pg_stat_activity a USING (pid)
        WHERE a.query LIKE $1 AND p.blocks_done > 0`,
      [`CREATE INDEX CONCURRENTLY ${index}%`],
    );
    if (rows.length > 0) break;
    if (i > 600) throw new Error(`the build of ${index} never started scanning`);
    await sleep(50);
  }
  child!.kill(signal);
  return run;
}

async function recorded(db: TestDatabase, name: string): Promise<number> {
  const { rows } = await db.client.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM dbopt.migrations WHERE name = $1`,
    [name],
  );
  return rows[0]!.n;
}

async function indexValid(db: TestDatabase, name: string): Promise<boolean | null> {
  const { rows } = await db.client.query<{ valid: boolean }>(
    `SELECT x.indisvalid AS valid FROM pg_index x JOIN pg_class c ON c.oid = x.indexrelid WHERE c.relname = $1`,
    [name],
  );
  return rows[0]?.valid ?? null;
}

describe('dbopt migrate under faults', () => {
  let db: TestDatabase;
  let dir: string;
  beforeAll(async () => {
    db = await createTestDatabase(inject('pgAdminUrl'), 'dbopt_e2e_migrate');
    // Large enough that a serial build with 1MB of sort memory takes seconds.
    await db.client.query(
      `CREATE TABLE big AS SELECT i AS id, md5(i::text) AS k, md5((i * 7)::text) AS k2 FROM generate_series(1, 2000000) AS i`,
    );
    await db.client.query('VACUUM ANALYZE big');
    dir = project(
      {
        '0001_big_k.sql':
          '-- Up Migration\nCREATE INDEX CONCURRENTLY big_k_idx ON big (k);\n-- Down Migration\nDROP INDEX CONCURRENTLY big_k_idx;\n',
      },
      { maintenanceWorkMem: '1MB', parallelWorkers: 0, lockWait: '60s' },
    );
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('kill -9 during a CONCURRENTLY build: the rerun leaves no INVALID index and records the migration once', async () => {
    const killed = await interruptBuild(db, dir, 'big_k_idx', 'SIGKILL');
    expect(killed.signal).toBe('SIGKILL');
    expect(await recorded(db, '0001_big_k')).toBe(0);
    const rerun = await runCli(['migrate'], { cwd: dir, env: { DATABASE_URL: db.url } });
    expect(rerun.stderr + rerun.stdout).toMatch(/INVALID|went away/); // it had something to heal
    expect(rerun.code).toBe(0);
    expect(await indexValid(db, 'big_k_idx')).toBe(true);
    expect(await recorded(db, '0001_big_k')).toBe(1);
    const invalid = await db.client.query('SELECT 1 FROM pg_index WHERE NOT indisvalid');
    expect(invalid.rows).toEqual([]);
  });

  it('SIGTERM during a build: statement cancelled, lock released, exit 143; the rerun heals', async () => {
    writeFileSync(
      path.join(dir, 'migrations', '0002_big_k2.sql'),
      '-- Up Migration\nCREATE INDEX CONCURRENTLY big_k2_idx ON big (k2);\n',
    );
    const stopped = await interruptBuild(db, dir, 'big_k2_idx', 'SIGTERM');
    expect(stopped.code).toBe(143);
    expect(stopped.stderr).toContain('stopped by SIGTERM');
    const busy = await db.client.query(
      `SELECT 1 FROM pg_stat_activity WHERE query LIKE 'CREATE INDEX CONCURRENTLY big_k2_idx%' AND state = 'active'`,
    );
    expect(busy.rows).toEqual([]);
    const locks = await db.client.query(
      `SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND classid = 1684172656 AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
    );
    expect(locks.rows).toEqual([]);
    expect(await recorded(db, '0002_big_k2')).toBe(0);
    expect(await indexValid(db, 'big_k2_idx')).toBe(false); // the cancelled build's leftover
    const rerun = await runCli(['migrate'], { cwd: dir, env: { DATABASE_URL: db.url } });
    expect(rerun.code).toBe(0);
    expect(rerun.stderr).toMatch(/big_k2_idx on public\.big is INVALID/);
    expect(await indexValid(db, 'big_k2_idx')).toBe(true);
    expect(await recorded(db, '0002_big_k2')).toBe(1);
  });

  it('an applied migration edited afterwards exits 2 naming it', async () => {
    appendFileSync(path.join(dir, 'migrations', '0001_big_k.sql'), '-- a later edit\n');
    const r = await runCli(['migrate'], { cwd: dir, env: { DATABASE_URL: db.url } });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('0001_big_k.sql');
    const status = await runCli(['migrate', 'status', '--format', 'json'], { cwd: dir, env: { DATABASE_URL: db.url } });
    expect(status.code).toBe(1);
    expect(JSON.parse(status.stdout).result.migrations.map((m: { state: string }) => m.state)).toEqual([
      'modified',
      'applied',
    ]);
  });

  it('five migrators at once: each migration applied exactly once, the others exit 4 or 0', async () => {
    const five = await createTestDatabase(inject('pgAdminUrl'), 'dbopt_e2e_five');
    try {
      const cwd = project(
        {
          '0001_orders.sql':
            '-- Up Migration\nCREATE TABLE orders (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, customer int NOT NULL, total numeric NOT NULL);\nINSERT INTO orders (customer, total) SELECT i % 5000, i FROM generate_series(1, 200000) AS i;\n',
          '0002_orders_customer.sql':
            '-- Up Migration\nCREATE INDEX CONCURRENTLY orders_customer_idx ON orders (customer);\n',
          '0003_orders_total.sql': '-- Up Migration\nCREATE INDEX CONCURRENTLY orders_total_idx ON orders (total);\n',
          '0004_orders_note.sql': '-- Up Migration\nALTER TABLE orders ADD COLUMN note text;\n',
        },
        { lockWait: '2s' },
      );
      const runs = await Promise.all(
        Array.from({ length: 5 }, () =>
          runCli(['migrate', '--format', 'json'], { cwd, env: { DATABASE_URL: five.url } }),
        ),
      );
      for (const r of runs) expect([0, 4]).toContain(r.code);
      const winners = runs.filter((r) => r.code === 0 && JSON.parse(r.stdout).result.ran.length > 0);
      expect(winners.length).toBeGreaterThanOrEqual(1);
      for (const r of runs.filter((x) => x.code === 4))
        expect(r.stderr).toMatch(/held by pid \d+ \(application_name "dbopt migrate"/);
      const { rows } = await five.client.query<{ name: string; n: number }>(
        'SELECT name, count(*)::int AS n FROM dbopt.migrations GROUP BY name ORDER BY name',
      );
      expect(rows).toEqual(
        ['0001_orders', '0002_orders_customer', '0003_orders_total', '0004_orders_note'].map((name) => ({
          name,
          n: 1,
        })),
      );
      const applied = runs.flatMap((r) =>
        r.code === 0 ? JSON.parse(r.stdout).result.ran.map((m: { name: string }) => m.name) : [],
      );
      expect(applied.sort()).toEqual(['0001_orders', '0002_orders_customer', '0003_orders_total', '0004_orders_note']);
    } finally {
      await five.drop();
    }
  });

  it('CONCURRENTLY inside an explicit transaction is refused before connecting, naming file and line', async () => {
    const cwd = project({
      '0001_tx.sql':
        '-- Up Migration\nBEGIN;\nCREATE INDEX CONCURRENTLY orders_customer_idx ON orders (customer);\nCOMMIT;\n',
    });
    const r = await runCli(['migrate'], { cwd, env: { DATABASE_URL: 'postgres://nobody@127.0.0.1:1/nowhere' } });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('0001_tx.sql:3:1');
    expect(r.stderr).toContain('concurrent-in-transaction');
    expect(r.stderr).toContain('before connecting');
    expect(r.stderr).not.toMatch(/cannot connect/);
  });

  it('dbopt migrate lint reports findings in every format and exits 1 on errors', async () => {
    const cwd = project({
      '0001_ok.sql': '-- Up Migration\nCREATE INDEX CONCURRENTLY a_idx ON a (x);\n',
      '0002_bad.sql': '-- Up Migration\nCREATE INDEX b_idx ON b (x);\n',
    });
    const table = await runCli(['migrate', 'lint'], { cwd });
    expect(table.code).toBe(1);
    expect(table.stdout).toContain('index-not-concurrent');
    const junit = await runCli(['migrate', 'lint', '--format', 'junit'], { cwd });
    expect(junit.stdout).toContain('<testcase');
    expect(junit.stdout).toContain('index-not-concurrent');
    const one = await runCli(['migrate', 'lint', '--format', 'json', 'migrations/0001_ok.sql'], { cwd });
    expect(one.code).toBe(0);
    expect(JSON.parse(one.stdout).result.errors).toBe(0);
  });

  it('an unparsable file is one syntax-error finding and the other files are still linted, in every format', async () => {
    const cwd = project({
      '0001_broken.sql': '-- Up Migration\nCREATE TABLE t (a int);\nALTER TABLE t ADD COLUMN b int NOT NULL DEFAULT;\n',
      '0002_bad.sql': '-- Up Migration\nCREATE INDEX b_idx ON b (x);\n',
    });
    const json = await runCli(['migrate', 'lint', '--format', 'json'], { cwd });
    expect(json.code).toBe(1);
    const findings = JSON.parse(json.stdout).result.findings as {
      file: string;
      line: number;
      column: number;
      code: string;
      message: string;
    }[];
    expect(findings.map((f) => `${f.file}:${f.line}:${f.column} ${f.code}`)).toEqual([
      'migrations/0001_broken.sql:3:48 syntax-error',
      'migrations/0002_bad.sql:2:1 index-not-concurrent',
    ]);
    expect(findings[0]!.message).toBe('the PostgreSQL parser refused this file: syntax error at or near ";"');
    const junit = await runCli(['migrate', 'lint', '--format', 'junit'], { cwd });
    expect(junit.code).toBe(1);
    expect(junitProblems(junit.stdout)).toEqual([]);
    expect(junit.stdout).toContain('syntax-error');
    expect(junit.stdout).toContain('index-not-concurrent');
    const table = await runCli(['migrate', 'lint'], { cwd });
    expect(table.code).toBe(1);
    expect(table.stdout).toContain('0001_broken.sql:3:48');
    expect(table.stdout).toContain('unsized: no database connection');
  });

  it('dbopt migrate lint DIR lints a directory of JS migrations like --dir', async () => {
    const dir = path.join(REPO_ROOT, 'test/fixtures/migrate/js');
    const r = await runCli(['migrate', 'lint', '--format', 'json', dir]);
    expect(r.stderr).not.toMatch(/Cannot find module/);
    expect(r.code).toBe(1);
    const files = (JSON.parse(r.stdout).result.files as { file: string }[]).map((f) => path.basename(f.file));
    expect(files).toEqual([
      '0001_js_index.js',
      '0002_js_concurrent_ok.js',
      '0003_js_concurrent_in_tx.js',
      '0004_js_concurrent_if_not_exists.js',
    ]);
    const viaDir = await runCli(['migrate', 'lint', '--format', 'json', '--dir', dir]);
    expect(JSON.parse(viaDir.stdout).result.findings.map((f: { code: string }) => f.code)).toEqual(
      JSON.parse(r.stdout).result.findings.map((f: { code: string }) => f.code),
    );
  });
});
