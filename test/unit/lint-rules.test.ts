// Each lint rule fires on its failing example and stays quiet on its ok example; no database.
import { describe, expect, it } from 'vitest';
import path from 'node:path';
import { lintSql, lintFile, RULES } from '../../src/migrate/lint/index.js';
import { REPO_ROOT } from '../helpers/cli.js';
import { listMigrationFiles, migrate } from '../../src/migrate/index.js';
import { targetFromUrl } from '../../src/db/connection.js';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';

const cases: Record<string, { bad: string; ok: string }> = {
  'index-not-concurrent': {
    bad: 'CREATE INDEX users_lang_idx ON users (lang);',
    ok: 'CREATE TABLE t (a int);\nCREATE INDEX t_a_idx ON t (a);\n-- and on a view created in the same file\nCREATE MATERIALIZED VIEW mv AS SELECT 1 AS a WITH NO DATA;\nCREATE UNIQUE INDEX mv_a ON mv (a);',
  },
  'concurrent-in-transaction': {
    bad: 'BEGIN;\nCREATE INDEX CONCURRENTLY users_lang_idx ON users (lang);\nCOMMIT;',
    ok: 'SET maintenance_work_mem = \'1GB\';\nCREATE INDEX CONCURRENTLY users_lang_idx ON users (lang);',
  },
  'concurrent-index-unnamed': {
    bad: 'CREATE UNIQUE INDEX CONCURRENTLY ON users (telegram_id);',
    ok: 'CREATE UNIQUE INDEX CONCURRENTLY users_telegram_id_key ON users (telegram_id);\n-- a plain build on a new table may stay unnamed\nCREATE TABLE t (a int);\nCREATE INDEX ON t (a);',
  },
  'matview-without-unique-index': {
    bad: 'CREATE MATERIALIZED VIEW mv AS SELECT 1 AS a WITH NO DATA;\nCREATE UNIQUE INDEX mv_a ON mv (a) WHERE a > 0;',
    ok: 'CREATE MATERIALIZED VIEW s.mv AS SELECT 1 AS a WITH NO DATA;\nCREATE UNIQUE INDEX mv_a ON s.mv (a);',
  },
  'refresh-in-migration': {
    bad: 'REFRESH MATERIALIZED VIEW analytics.daily;',
    ok: 'REFRESH MATERIALIZED VIEW analytics.daily WITH NO DATA;',
  },
  'lock-timeout-disabled': {
    bad: 'SET lock_timeout = 0;\nALTER TABLE users DROP COLUMN lang;',
    ok: 'SET lock_timeout = 0;\nSET lock_timeout = \'1s\';\nALTER TABLE users DROP COLUMN lang;',
  },
  'add-column-volatile-default': {
    bad: 'ALTER TABLE users ADD COLUMN token uuid DEFAULT gen_random_uuid();',
    ok: 'ALTER TABLE users ADD COLUMN seen_at timestamptz DEFAULT now();',
  },
  'alter-column-type': {
    bad: 'ALTER TABLE users ALTER COLUMN telegram_id TYPE numeric;',
    ok: 'CREATE TABLE t (a int);\nALTER TABLE t ALTER COLUMN a TYPE bigint;',
  },
  'constraint-not-valid': {
    bad: 'ALTER TABLE sessions ADD CONSTRAINT sessions_user_fk FOREIGN KEY (user_id) REFERENCES users (id);',
    ok: 'ALTER TABLE sessions ADD CONSTRAINT sessions_user_fk FOREIGN KEY (user_id) REFERENCES users (id) NOT VALID;\nALTER TABLE sessions VALIDATE CONSTRAINT sessions_user_fk;',
  },
  'set-not-null': {
    bad: 'ALTER TABLE users ALTER COLUMN lang SET NOT NULL;',
    ok: 'ALTER TABLE users ALTER COLUMN lang DROP NOT NULL;',
  },
};

describe('migrate lint rules', () => {
  it('has a failing and an ok example for every rule', () => {
    expect(Object.keys(cases).sort()).toEqual(RULES.map((r) => r.code).sort());
  });

  for (const rule of RULES) {
    describe(rule.code, () => {
      it('fires on its failing example, with file, line, column, the lock and a fix', async () => {
        const findings = (await lintSql(`-- Up Migration\n${cases[rule.code]!.bad}`, 'bad.sql')).filter((f) => f.code === rule.code);
        expect(findings).toHaveLength(1);
        const f = findings[0]!;
        expect(f.file).toBe('bad.sql');
        expect(f.line).toBeGreaterThanOrEqual(2);
        expect(f.column).toBe(1);
        expect(f.message).toMatch(/lock|LOCK|block|refuses|atomic|CONCURRENTLY/);
        expect(f.fix.length).toBeGreaterThan(10);
      });

      it('stays quiet on its ok example', async () => {
        const findings = (await lintSql(cases[rule.code]!.ok, 'ok.sql')).filter((f) => f.code === rule.code);
        expect(findings).toEqual([]);
      });
    });
  }

  it('says exactly this for each failing example (squawk-style snapshot: a changed message is a reviewed change)', async () => {
    const said: Record<string, string> = {};
    for (const rule of RULES) {
      const [f] = (await lintSql(`-- Up Migration\n${cases[rule.code]!.bad}`, 'bad.sql')).filter((x) => x.code === rule.code);
      said[rule.code] = `${f!.file}:${f!.line}:${f!.column} ${f!.severity}${f!.fatal ? ' (fatal)' : ''}: ${f!.message}\nfix: ${f!.fix}`;
    }
    expect(said).toMatchInlineSnapshot(`
      {
        "add-column-volatile-default": "bad.sql:2:1 error: ADD COLUMN token with DEFAULT gen_random_uuid() rewrites every row of users under an ACCESS EXCLUSIVE lock: all reads and writes of the table wait for the rewrite.
      fix: Add the column without a default (or with a constant one), then backfill it in batches and SET DEFAULT afterwards.",
        "alter-column-type": "bad.sql:2:1 warning: ALTER COLUMN telegram_id TYPE takes an ACCESS EXCLUSIVE lock on users and, unless the types are binary-compatible, rewrites the table and its indexes: all reads and writes wait meanwhile.
      fix: Add a new column of the new type, backfill it in batches, switch readers over, then drop the old column.",
        "concurrent-in-transaction": "bad.sql:3:1 error (fatal): CONCURRENTLY cannot run inside a transaction block, and this file opens one with BEGIN at line 2: PostgreSQL refuses the statement.
      fix: Put the CONCURRENTLY statement alone in a migration file of its own, without BEGIN/COMMIT (in JS, call pgm.noTransaction()).",
        "concurrent-index-unnamed": "bad.sql:2:1 error (fatal): CREATE UNIQUE INDEX CONCURRENTLY on users has no name: if the build fails it leaves an INVALID index that still rejects duplicate writes under a name PostgreSQL chose, which dbopt cannot heal or verify, and the rerun builds a second index beside it.
      fix: Name the index (CREATE INDEX CONCURRENTLY name ON ...) so dbopt can heal and verify it.",
        "constraint-not-valid": "bad.sql:2:1 error: ADD CONSTRAINT sessions_user_fk FOREIGN KEY checks every row of sessions while holding SHARE ROW EXCLUSIVE locks on it and the referenced table: writes to both wait for the scan.
      fix: Add the constraint with NOT VALID, then run ALTER TABLE ... VALIDATE CONSTRAINT in a later migration (it takes a weaker lock).",
        "index-not-concurrent": "bad.sql:2:1 error: CREATE INDEX users_lang_idx without CONCURRENTLY takes a SHARE lock on users: every INSERT, UPDATE and DELETE on it waits until the build ends.
      fix: Write CREATE INDEX CONCURRENTLY, alone in a migration file of its own; dbopt runs it outside a transaction.",
        "lock-timeout-disabled": "bad.sql:3:1 warning: this DDL waits for an ACCESS EXCLUSIVE lock on users with lock_timeout turned off: while it waits behind a long transaction, every read and write of the table queues behind it.
      fix: Remove the SET lock_timeout = 0 / RESET lock_timeout; dbopt applies migrate.lockTimeout and retries with backoff.",
        "matview-without-unique-index": "bad.sql:2:1 error: materialized view mv has no unique index on plain columns: REFRESH MATERIALIZED VIEW CONCURRENTLY is impossible, so every refresh takes an ACCESS EXCLUSIVE lock that blocks all reads of the view.
      fix: Add CREATE UNIQUE INDEX ON the view (plain columns, no WHERE) in the same file, right after CREATE MATERIALIZED VIEW.",
        "refresh-in-migration": "bad.sql:2:1 error: REFRESH MATERIALIZED VIEW analytics.daily takes an ACCESS EXCLUSIVE lock: every SELECT on the view waits until its whole query has run again.
      fix: Remove the REFRESH from the migration (create the view WITH NO DATA) and let dbopt refresh-views fill it.",
        "set-not-null": "bad.sql:2:1 warning: ALTER COLUMN lang SET NOT NULL scans every row of users under an ACCESS EXCLUSIVE lock: all reads and writes wait for the scan.
      fix: First add CHECK (col IS NOT NULL) NOT VALID and VALIDATE it in a later migration; SET NOT NULL then skips the scan.",
      }
    `);
  });

  it('points CONCURRENTLY inside BEGIN at the right line and marks it fatal', async () => {
    const [f] = await lintSql('-- Up Migration\n\nBEGIN;\n  CREATE INDEX CONCURRENTLY i ON t (a);\nCOMMIT;', 'tx.sql');
    expect(f).toMatchObject({ code: 'concurrent-in-transaction', line: 4, column: 3, fatal: true, severity: 'error' });
    expect(f!.message).toContain('BEGIN at line 3');
  });

  it('refuses an unnamed concurrent build before connecting, naming file and line', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'dbopt-unnamed-'));
    writeFileSync(path.join(dir, '0001_unnamed.sql'), '-- Up Migration\nCREATE INDEX CONCURRENTLY ON users (lang);\n');
    // Nothing listens on port 1: a connection attempt would fail with exit 3, not this refusal.
    const err = await migrate({ target: targetFromUrl('postgres://nobody@127.0.0.1:1/none', 'test'), dir }).then(() => undefined, (e: unknown) => e as { exitCode: number; message: string });
    expect(err?.exitCode).toBe(1);
    expect(err?.message).toMatch(/before connecting: .*0001_unnamed\.sql:2 concurrent-index-unnamed/);
  });

  it('flags CONCURRENTLY mixed with other statements in one file', async () => {
    const findings = await lintSql('CREATE TABLE t (a int);\nCREATE INDEX CONCURRENTLY i ON u (a);', 'mixed.sql');
    expect(findings.map((f) => f.code)).toEqual(['concurrent-in-transaction']);
  });

  it('honours dbopt-lint-ignore comments', async () => {
    expect(await lintSql('-- dbopt-lint-ignore index-not-concurrent\nCREATE INDEX i ON t (a);')).toEqual([]);
    expect(await lintSql('-- dbopt-lint-ignore set-not-null\nCREATE INDEX i ON t (a);')).toHaveLength(1);
  });

  it('lints the SQL that JS migrations render', async () => {
    const dir = path.join(REPO_ROOT, 'test/fixtures/migrate/js');
    const bad = await lintFile(path.join(dir, '0001_js_index.js'), '0001_js_index.js');
    expect(bad.findings.map((f) => f.code)).toEqual(['index-not-concurrent']);
    expect(bad.findings[0]!.message).toContain('users');
    const ok = await lintFile(path.join(dir, '0002_js_concurrent_ok.js'), '0002_js_concurrent_ok.js');
    expect(ok.findings).toEqual([]);
    const tx = await lintFile(path.join(dir, '0003_js_concurrent_in_tx.js'), '0003_js_concurrent_in_tx.js');
    // up, and the down node-pg-migrate infers by reversing it (DROP INDEX CONCURRENTLY)
    expect(tx.findings.map((f) => `${f.section} ${f.code}`)).toEqual(['up concurrent-in-transaction', 'down concurrent-in-transaction']);
  });

  it('finds nothing unsafe in the reference schema', async () => {
    for (const f of listMigrationFiles(path.join(REPO_ROOT, 'migrations'))) {
      expect((await lintFile(f.file)).findings).toEqual([]);
    }
  });
});
