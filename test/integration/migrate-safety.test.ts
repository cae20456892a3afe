// dbopt migrate against a real server: healing invalid indexes, failed builds, lock budgets
// and retries, checksums, dry run. Small purpose-made tables in a database of this file's own.
import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync, appendFileSync, cpSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { adminUrl } from '../helpers/db.js';
import { createTestDatabase } from '../helpers/postgres.js';
import { targetFromUrl } from '../../src/db/connection.js';
import { migrate, migrationStatus } from '../../src/migrate/index.js';
import { DbOptError } from '../../src/errors.js';
import type { Logger } from '../../src/logger.js';
import { REPO_ROOT } from '../helpers/cli.js';
import { rejection } from '../helpers/errors.js';

// A fresh database per test: each starts with no migrations applied.
async function withFresh<T>(
  work: (db: { client: pg.Client; target: ReturnType<typeof targetFromUrl>; url: string }) => Promise<T>,
): Promise<T> {
  const created = await createTestDatabase(adminUrl(), 'dbopt_migrate');
  try {
    return await work({ client: created.client, url: created.url, target: targetFromUrl(created.url, 'test') });
  } finally {
    await created.drop();
  }
}

function migrationsDir(files: Record<string, string>): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'dbopt-migrations-'));
  for (const [name, sql] of Object.entries(files)) writeFileSync(path.join(dir, name), sql);
  return dir;
}

function recordingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  return { lines, info: (m) => lines.push(m), warn: (m) => lines.push(`warning: ${m}`), debug: () => undefined };
}

async function indexes(client: pg.Client, table: string): Promise<{ name: string; valid: boolean }[]> {
  const { rows } = await client.query<{ name: string; valid: boolean }>(
    `SELECT i.relname AS name, x.indisvalid AS valid
       FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
      WHERE x.indrelid = to_regclass($1) AND NOT x.indisprimary ORDER BY 1`,
    [table],
  );
  return rows;
}

const thrown = (p: Promise<unknown>): Promise<DbOptError> => rejection(p, DbOptError);

const TABLE = `-- Up Migration
CREATE TABLE items (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, sku text NOT NULL, qty int NOT NULL);
-- Down Migration
DROP TABLE items;
`;

describe('dbopt migrate on a real server', () => {
  it('--dry-run on a fresh database creates nothing, not even the dbopt schema', async () => {
    const fresh = await createTestDatabase(adminUrl(), 'dbopt_dry');
    try {
      const result = await migrate({
        target: targetFromUrl(fresh.url, 'test'),
        dir: path.join(REPO_ROOT, 'migrations'),
        dryRun: true,
      });
      expect(result.ran.length).toBeGreaterThan(10);
      expect(result.ran.find((r) => r.name === '0009_index_users_bot_telegram_cover')!.sql!.join('\n')).toMatch(
        /outside a transaction[\s\S]*CREATE UNIQUE INDEX CONCURRENTLY users_bot_telegram_cover/,
      );
      const { rows } = await fresh.client.query(
        `SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')`,
      );
      expect(rows).toEqual([]);
      const schemas = await fresh.client.query(`SELECT nspname FROM pg_namespace WHERE nspname = 'dbopt'`);
      expect(schemas.rows).toEqual([]);
    } finally {
      await fresh.drop();
    }
  });

  it('heals a leftover INVALID index of the same name, even with IF NOT EXISTS, and records once', () =>
    withFresh(async ({ client, target }) => {
      const dir = migrationsDir({
        '0001_items.sql': TABLE,
        '0002_items_sku.sql':
          '-- Up Migration\nCREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS items_sku_key ON items (sku);\n-- Down Migration\nDROP INDEX CONCURRENTLY IF EXISTS items_sku_key;\n',
      });
      await migrate({ target, dir, count: 1 });
      await client.query(`INSERT INTO items (sku, qty) SELECT 'sku-' || i, i FROM generate_series(1, 2000) i`);
      await client.query(`INSERT INTO items (sku, qty) VALUES ('sku-1', 0)`);
      // A crashed build leaves an INVALID unique index behind.
      await expect(client.query('CREATE UNIQUE INDEX CONCURRENTLY items_sku_key ON items (sku)')).rejects.toThrow(
        /could not create unique index/,
      );
      expect(await indexes(client, 'items')).toEqual([{ name: 'items_sku_key', valid: false }]);
      await client.query(`DELETE FROM items WHERE qty = 0`);

      const logger = recordingLogger();
      const result = await migrate({ target, dir, logger });
      expect(result.ran.map((r) => r.name)).toEqual(['0002_items_sku']);
      expect(result.ran[0]!.notes!.join('; ')).toMatch(
        /dropped leftover INVALID index items_sku_key.*built items_sku_key.*analyzed public.items/,
      );
      expect(logger.lines.join('\n')).toMatch(/items_sku_key on public.items is INVALID[\s\S]*URGENT/);
      expect(await indexes(client, 'items')).toEqual([{ name: 'items_sku_key', valid: true }]);
      const recorded = await client.query(
        `SELECT count(*)::int AS n FROM dbopt.migrations WHERE name = '0002_items_sku'`,
      );
      expect(recorded.rows[0].n).toBe(1);
      const analyzed = await client.query(
        `SELECT last_analyze IS NOT NULL AS done FROM pg_stat_user_tables WHERE relname = 'items'`,
      );
      expect(analyzed.rows[0].done).toBe(true);
      await migrate({ target, dir, direction: 'down', count: 2 });
      expect(await indexes(client, 'items')).toEqual([]);
    }));

  it('a failed build names index, table and cause, leaves no INVALID index and records nothing', () =>
    withFresh(async ({ client, target }) => {
      const dir = migrationsDir({
        '0001_items.sql': TABLE,
        '0002_items_qty.sql': '-- Up Migration\nCREATE UNIQUE INDEX CONCURRENTLY items_qty_key ON items (qty);\n',
      });
      await migrate({ target, dir, count: 1 });
      await client.query(`INSERT INTO items (sku, qty) VALUES ('a', 1), ('b', 1)`);
      const err = await thrown(migrate({ target, dir }));
      expect(err.exitCode).toBe(1);
      expect(err.message).toMatch(
        /index items_qty_key on public\.items was not built: could not create unique index.*dropped/,
      );
      expect(err.details.join('\n')).toMatch(/0002_items_qty\.sql:2:1: ERROR 23505: could not create unique index/);
      expect(await indexes(client, 'items')).toEqual([]);
      const recorded = await client.query(`SELECT name FROM dbopt.migrations WHERE name = '0002_items_qty'`);
      expect(recorded.rows).toEqual([]);
    }));

  it('short-budget DDL retries then fails naming the blocking pid; a build waits for its blocker and succeeds', () =>
    withFresh(async ({ client, target, url }) => {
      const dir = migrationsDir({
        '0001_items.sql': TABLE,
        '0002_items_note.sql':
          '-- Up Migration\nALTER TABLE items ADD COLUMN note text;\n-- Down Migration\nALTER TABLE items DROP COLUMN note;\n',
      });
      await migrate({ target, dir, count: 1 });
      const blocker = new pg.Client({ connectionString: url, application_name: 'blocker' });
      await blocker.connect();
      try {
        const { rows } = await blocker.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
        await blocker.query('BEGIN');
        await blocker.query('SELECT count(*) FROM items'); // ACCESS SHARE until COMMIT
        const logger = recordingLogger();
        const err = await thrown(migrate({ target, dir, lockTimeoutMs: 200, lockRetries: 2, logger }));
        expect(err.exitCode).toBe(1);
        expect(err.message).toContain(`migration 0002_items_note could not take its lock`);
        expect(err.message).toContain(`pid ${rows[0]!.pid}`);
        expect(err.details.join('\n')).toContain('application_name "blocker"');
        expect(logger.lines.filter((l) => /lock_timeout .* reached/.test(l))).toHaveLength(2);
        const col = await client.query(
          `SELECT 1 FROM information_schema.columns WHERE table_name = 'items' AND column_name = 'note'`,
        );
        expect(col.rows).toEqual([]);
        await blocker.query('COMMIT');
        expect((await migrate({ target, dir })).ran.map((r) => r.name)).toEqual(['0002_items_note']);

        // The build: SHARE UPDATE EXCLUSIVE conflicts with itself; the build waits within its budget.
        writeFileSync(
          path.join(dir, '0003_items_sku.sql'),
          '-- Up Migration\nCREATE INDEX CONCURRENTLY items_sku_idx ON items (sku);\n',
        );
        await blocker.query('BEGIN');
        await blocker.query('LOCK TABLE items IN SHARE UPDATE EXCLUSIVE MODE');
        const running = migrate({ target, dir, lockTimeoutMs: 200, lockRetries: 0, buildLockTimeoutMs: 60_000 });
        for (let i = 0; ; i++) {
          const w = await client.query(
            `SELECT 1 FROM pg_stat_activity WHERE application_name = 'dbopt migrate' AND wait_event_type = 'Lock' AND query LIKE 'CREATE INDEX CONCURRENTLY items_sku_idx%'`,
          );
          if (w.rowCount) break;
          if (i > 200) throw new Error('the build never waited for the lock');
          await new Promise((r) => setTimeout(r, 100));
        }
        await blocker.query('COMMIT');
        const result = await running;
        expect(result.ran.map((r) => r.name)).toEqual(['0003_items_sku']);
        expect(await indexes(client, 'items')).toEqual([{ name: 'items_sku_idx', valid: true }]);
      } finally {
        await blocker.end();
      }
    }));

  it('REINDEX (CONCURRENTLY false) and VACUUM FULL wait with the short DDL budget and retry, never the build budget', () =>
    withFresh(async ({ client, target, url }) => {
      const dir = migrationsDir({
        '0001_items.sql': `${TABLE.split('-- Down')[0]}CREATE INDEX items_sku_idx ON items (sku);\n`,
        '0002_reindex.sql': '-- Up Migration\nREINDEX (CONCURRENTLY false) INDEX items_sku_idx;\n',
        '0003_vacuum_full.sql': '-- Up Migration\nVACUUM (FULL) items;\n',
      });
      await migrate({ target, dir, count: 1 });
      const dry = await migrate({ target, dir, dryRun: true });
      expect(dry.ran[0]!.sql!.join('\n')).toContain(`in one transaction, lock_timeout = '2000ms'`);
      const blocker = new pg.Client({ connectionString: url, application_name: 'blocker' });
      await blocker.connect();
      try {
        await blocker.query('BEGIN');
        // ROW EXCLUSIVE conflicts with REINDEX's SHARE and VACUUM FULL's ACCESS EXCLUSIVE.
        await blocker.query('LOCK TABLE items IN ROW EXCLUSIVE MODE');
        // With the build's 10-minute budget either would sit behind the blocker past the test timeout.
        for (const name of ['0002_reindex', '0003_vacuum_full']) {
          const logger = recordingLogger();
          const err = await thrown(
            migrate({
              target,
              dir,
              count: 1,
              lint: false,
              lockTimeoutMs: 200,
              lockRetries: 1,
              buildLockTimeoutMs: 600_000,
              logger,
            }),
          );
          expect(err.message).toBe(
            `migration ${name} could not take its lock within lock_timeout 200ms, 2 tries: blocked by pid ${(await blocker.query('SELECT pg_backend_pid() AS pid')).rows[0].pid}`,
          );
          expect(logger.lines.filter((l) => l.includes(`${name}: lock_timeout (200ms) reached`))).toHaveLength(1);
          if (name === '0002_reindex') {
            await blocker.query('COMMIT');
            await migrate({ target, dir, count: 1, lint: false });
            await blocker.query('BEGIN');
            await blocker.query('LOCK TABLE items IN ROW EXCLUSIVE MODE');
          }
        }
        await blocker.query('COMMIT');
        expect((await migrate({ target, dir, lint: false })).ran.map((r) => r.name)).toEqual(['0003_vacuum_full']);
        const { rows } = await client.query(`SELECT count(*)::int AS n FROM dbopt.migrations`);
        expect(rows[0].n).toBe(3);
      } finally {
        await blocker.end();
      }
    }));

  it('refuses an edited or deleted applied migration naming the file; status shows it', () =>
    withFresh(async ({ target }) => {
      const dir = migrationsDir({ '0001_items.sql': TABLE });
      await migrate({ target, dir });
      appendFileSync(path.join(dir, '0001_items.sql'), '\n-- edited\n');
      const err = await thrown(migrate({ target, dir }));
      expect(err.exitCode).toBe(2);
      expect(err.message).toContain('0001_items.sql');
      expect(err.message).toContain('edited');
      const status = await migrationStatus({ target, dir });
      expect(status.migrations.map((m) => m.state)).toEqual(['modified']);

      const other = migrationsDir({});
      const gone = await thrown(migrate({ target, dir: other }));
      expect(gone.exitCode).toBe(2);
      expect(gone.message).toContain('0001_items');
      expect(gone.message).toContain('deleted');
    }));

  it('refuses pending migrations with lint errors unless lint is off', () =>
    withFresh(async ({ target }) => {
      const dir = migrationsDir({
        '0001_items.sql': TABLE,
        '0002_plain_index.sql': '-- Up Migration\nCREATE INDEX items_qty_idx ON items (qty);\n',
      });
      await migrate({ target, dir, count: 1 });
      // items is empty: under the default migrate.lint.smallTable the plain build would be a note.
      const err = await thrown(migrate({ target, dir, lintSmallTable: 0 }));
      expect(err.exitCode).toBe(1);
      expect(err.details.join('\n')).toMatch(
        /0002_plain_index\.sql:2:1: error index-not-concurrent: .*SHARE lock on items/,
      );
      const ok = await migrate({ target, dir, lint: false });
      expect(ok.ran.map((r) => r.name)).toEqual(['0002_plain_index']);
    }));

  it('runs JS migrations through node-pg-migrate and checksums them', () =>
    withFresh(async ({ client, target }) => {
      const dir = migrationsDir({ '0001_items.sql': TABLE });
      cpSync(
        path.join(REPO_ROOT, 'test/fixtures/migrate/js/0002_js_concurrent_ok.js'),
        path.join(dir, '0002_js_concurrent_ok.js'),
      );
      await client.query('CREATE TABLE users (id int, created_at timestamptz)');
      const r = await migrate({ target, dir });
      expect(r.ran.map((m) => m.name)).toEqual(['0001_items', '0002_js_concurrent_ok']);
      expect(await indexes(client, 'users')).toEqual([{ name: 'users_created_at_idx', valid: true }]);
      const sums = await client.query(`SELECT name FROM dbopt.migration_checksums ORDER BY 1`);
      expect(sums.rows.map((x) => x.name)).toEqual(['0001_items', '0002_js_concurrent_ok']);
    }));

  it('a JS no-transaction concurrent build gets the build lock budget and is healed and verified; IF NOT EXISTS hides no INVALID index', () =>
    withFresh(async ({ client, target, url }) => {
      const dir = migrationsDir({ '0001_items.sql': TABLE });
      cpSync(
        path.join(REPO_ROOT, 'test/fixtures/migrate/js/0004_js_concurrent_if_not_exists.js'),
        path.join(dir, '0002_js_items_qty.js'),
      );
      await migrate({ target, dir, count: 1 });
      await client.query(`INSERT INTO items (sku, qty) VALUES ('a', 1), ('b', 1)`);
      // A failed earlier build leaves an INVALID index of the migration's name.
      await expect(client.query('CREATE UNIQUE INDEX CONCURRENTLY items_qty_idx ON items (qty)')).rejects.toThrow(
        /could not create unique index/,
      );
      const blocker = new pg.Client({ connectionString: url, application_name: 'blocker' });
      await blocker.connect();
      try {
        // An older transaction that a concurrent build (and drop) must wait out.
        await blocker.query('BEGIN');
        await blocker.query('SELECT count(*) FROM items');
        const running = migrate({ target, dir, lockTimeoutMs: 200, lockRetries: 2, buildLockTimeoutMs: 60_000 });
        for (let i = 0; ; i++) {
          const w = await client.query(
            `SELECT 1 FROM pg_stat_activity WHERE application_name = 'dbopt migrate' AND wait_event_type = 'Lock' AND query LIKE '%items_qty_idx%'`,
          );
          if (w.rowCount) break;
          if (i > 200) throw new Error('the build never waited for the older transaction');
          await new Promise((r) => setTimeout(r, 100));
        }
        await blocker.query('COMMIT');
        const result = await running;
        expect(result.ran.map((r) => r.name)).toEqual(['0002_js_items_qty']);
        expect(result.lockRetries).toBe(0);
        expect(result.ran[0]!.notes!.join('; ')).toMatch(
          /dropped leftover INVALID index items_qty_idx.*built items_qty_idx.*analyzed public\.items/,
        );
        expect(await indexes(client, 'items')).toEqual([{ name: 'items_qty_idx', valid: true }]);
        await migrate({ target, dir, direction: 'down', count: 1 });
        expect(await indexes(client, 'items')).toEqual([]);
      } finally {
        await blocker.end();
      }
    }));

  it('SET in a no-transaction migration does not leak into later migrations of the run', () =>
    withFresh(async ({ client, target }) => {
      const dir = migrationsDir({
        '0001_items.sql': TABLE,
        '0002_items_sku.sql':
          "-- Up Migration\nSET work_mem = '7MB';\nSET search_path = pg_catalog;\nCREATE INDEX CONCURRENTLY items_sku_idx ON public.items (sku);\n",
        '0003_seen.sql':
          "-- Up Migration\nCREATE TABLE public.seen AS SELECT current_setting('work_mem') AS work_mem, current_setting('search_path') AS search_path, current_setting('lock_timeout') AS lock_timeout;\n",
      });
      const defaults = await client.query(
        `SELECT current_setting('work_mem') AS work_mem, current_setting('search_path') AS search_path`,
      );
      await migrate({ target, dir, lockTimeoutMs: 1500 });
      const seen = await client.query('SELECT * FROM public.seen');
      expect(seen.rows).toEqual([{ ...defaults.rows[0], lock_timeout: '1500ms' }]);
    }));

  it('a statement after a build in the same migration runs with the DDL settings again, not the build ones', () =>
    withFresh(async ({ client, target }) => {
      const dir = migrationsDir({
        '0001_items.sql': TABLE,
        '0002_items_sku.sql':
          "-- Up Migration\nCREATE INDEX CONCURRENTLY items_sku_idx ON items (sku);\nCREATE TABLE seen AS SELECT current_setting('lock_timeout') AS lock_timeout, current_setting('statement_timeout') AS statement_timeout, current_setting('maintenance_work_mem') AS mwm;\n",
      });
      const defaults = await client.query(
        `SELECT current_setting('statement_timeout') AS statement_timeout, current_setting('maintenance_work_mem') AS mwm`,
      );
      // Current statistics, so no ANALYZE (which would take the settings back in its own round trip).
      await migrate({ target, dir, count: 1, lint: false });
      await client.query(
        `INSERT INTO items (sku, qty) SELECT 'sku-' || i, i FROM generate_series(1, 500) i; ANALYZE items`,
      );
      // The lint refuses such a mix (concurrent-in-transaction); --no-lint runs it statement by statement.
      const result = await migrate({ target, dir, lockTimeoutMs: 1500, maintenanceWorkMem: '77MB', lint: false });
      expect(result.ran[0]!.notes!.join('; ')).toMatch(/no ANALYZE needed/);
      const seen = await client.query('SELECT * FROM seen');
      expect(seen.rows).toEqual([{ ...defaults.rows[0], lock_timeout: '1500ms' }]);
      expect(await indexes(client, 'items')).toEqual([{ name: 'items_sku_idx', valid: true }]);
    }));

  it('ANALYZEs after a build only where it adds statistics', () =>
    withFresh(async ({ client, target, url }) => {
      await client.query(
        `CREATE TABLE t (id int PRIMARY KEY, a int, b text, n int);
         INSERT INTO t SELECT i, i % 100, md5(i::text), i FROM generate_series(1, 5000) AS i;
         ANALYZE t;
         ALTER TABLE t ADD COLUMN c int DEFAULT 1`,
      );
      const lastAnalyze = async (): Promise<string> =>
        (
          await client.query(
            `SELECT pg_stat_get_last_analyze_time('t'::regclass)::text AS at, (SELECT count(*) FROM pg_stats WHERE tablename = 't')::int AS cols`,
          )
        ).rows[0] as unknown as string;
      const build = (name: string, sql: string): string =>
        `-- Up Migration\nCREATE INDEX CONCURRENTLY ${name} ON t ${sql};\n-- Down Migration\nDROP INDEX CONCURRENTLY ${name};\n`;
      const dir = migrationsDir({
        '0001_t_a.sql': build('t_a_idx', '(a) WHERE n > 10'),
        '0002_t_c.sql': build('t_c_idx', '(c)'),
        '0003_t_lower_b.sql': build('t_lower_b_idx', '(lower(b))'),
        '0004_t_b.sql': build('t_b_idx', '(b)'),
        '0005_t_a_d.sql': build('t_a_d_idx', '(a) WHERE d IS NOT NULL'),
      });
      const notesOf = async (count: number): Promise<string> =>
        ((await migrate({ target, dir, count })).ran[0]!.notes ?? []).join('; ');

      // Plain columns (key and predicate) with current statistics: nothing to add.
      const before = await lastAnalyze();
      expect(await notesOf(1)).toMatch(
        /public\.t: the index's columns already have current statistics, no ANALYZE needed/,
      );
      expect(await lastAnalyze()).toEqual(before);
      // A column added since the last ANALYZE has none: that column only.
      expect(await notesOf(1)).toMatch(/analyzed public\.t \(c\)$/);
      // An expression's statistics come only from a full ANALYZE.
      expect(await notesOf(1)).toMatch(/analyzed public\.t$/);
      expect(
        (await client.query(`SELECT count(*)::int AS n FROM pg_stats WHERE tablename = 't_lower_b_idx'`)).rows[0].n,
      ).toBe(1);
      // Rows changed beyond autovacuum's analyze threshold since: the statistics are stale, a full ANALYZE.
      const writer = new pg.Client({ connectionString: url });
      await writer.connect();
      await writer.query(`UPDATE t SET b = md5(b) WHERE id <= 2000`);
      await writer.end(); // a backend reports its row counts when it ends
      expect(await notesOf(1)).toMatch(/analyzed public\.t$/);
      expect((await client.query(`SELECT pg_stat_get_mod_since_analyze('t'::regclass)::int AS n`)).rows[0].n).toBe(0);
      // A column only the predicate names, added since: that column only.
      await client.query(`ALTER TABLE t ADD COLUMN d int`);
      expect(await notesOf(1)).toMatch(/analyzed public\.t \(d\)$/);
    }));

  it('the session that builds holds the migrate lock; its CONCURRENTLY build waits only for other transactions', () =>
    withFresh(async ({ client, target, url }) => {
      const dir = migrationsDir({ '0001_items.sql': TABLE });
      await migrate({ target, dir });
      await client.query(`INSERT INTO items (sku, qty) SELECT 'sku-' || i, i FROM generate_series(1, 1000) AS i`);
      writeFileSync(
        path.join(dir, '0002_items_sku.sql'),
        '-- Up Migration\nCREATE INDEX CONCURRENTLY items_sku_idx ON items (sku);\n',
      );
      // An open transaction with a snapshot: the build must wait for it, and for nothing else.
      const older = new pg.Client({ connectionString: url, application_name: 'older' });
      await older.connect();
      try {
        const olderPid = (await older.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
        await older.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
        await older.query('SELECT count(*) FROM items');
        const running = migrate({ target, dir });
        running.catch(() => undefined);
        let seen: { builder: number; holder: number; blocking: number[] } | undefined;
        for (let i = 0; !seen; i++) {
          const { rows } = await client.query<{ builder: number; holder: number; blocking: number[] }>(
            `SELECT a.pid AS builder,
                    l.pid AS holder,
                    pg_blocking_pids(a.pid) AS blocking
               FROM pg_stat_activity AS a
               JOIN pg_locks AS l ON l.locktype = 'advisory' AND l.granted
                AND l.classid = 1684172656 AND l.objid = 1
                AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
              WHERE a.datname = current_database()
                AND a.query LIKE 'CREATE INDEX CONCURRENTLY items_sku_idx%'
                AND a.wait_event_type = 'Lock'`,
          );
          seen = rows[0];
          if (i > 200) throw new Error('the build never waited for the older transaction');
          if (!seen) await new Promise((r) => setTimeout(r, 50));
        }
        // One session holds the lock and builds; what the build waits for is the older transaction only.
        expect(seen.holder).toBe(seen.builder);
        expect(seen.blocking).toEqual([olderPid]);
        await older.query('COMMIT');
        expect((await running).ran.map((r) => r.name)).toEqual(['0002_items_sku']);
        expect(await indexes(client, 'items')).toEqual([{ name: 'items_sku_idx', valid: true }]);
      } finally {
        await older.end();
      }
    }));

  it('losing the connection that holds the migrate lock stops the run and records nothing', () =>
    withFresh(async ({ client, target }) => {
      const dir = migrationsDir({
        '0001_slow.sql': '-- Up Migration\nCREATE TABLE slow AS SELECT pg_sleep(30) IS NULL AS s;\n',
      });
      const caught = thrown(migrate({ target, dir }));
      let holder: number | undefined;
      for (let i = 0; holder === undefined; i++) {
        const { rows } = await client.query<{ pid: number }>(
          `SELECT l.pid FROM pg_locks l
          WHERE l.locktype = 'advisory' AND l.granted AND l.classid = 1684172656 AND l.objid = 1
            AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
            AND EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.datname = current_database() AND a.state = 'active' AND a.query LIKE 'CREATE TABLE slow%')`,
        );
        holder = rows[0]?.pid;
        if (i > 200) throw new Error('the slow migration never started');
        if (holder === undefined) await new Promise((r) => setTimeout(r, 100));
      }
      await client.query('SELECT pg_terminate_backend($1)', [holder]);
      const err = await caught;
      expect(err.exitCode).toBe(3);
      expect(err.message).toMatch(/lost the migrate lock/);
      const left = await client.query(
        `SELECT to_regclass('public.slow') AS t, to_regclass('dbopt.migrations') IS NOT NULL AND EXISTS (SELECT 1 FROM dbopt.migrations) AS recorded`,
      );
      expect(left.rows).toEqual([{ t: null, recorded: false }]);
      const sleeping = await client.query(
        `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'CREATE TABLE slow%' AND state = 'active'`,
      );
      expect(sleeping.rows).toEqual([]);
    }));
});
