// Each lint rule fires on its failing example and stays quiet on its ok example; no database.
import { describe, expect, it } from 'vitest';
import path from 'node:path';
import { activeRules, lintSql, lintFile, RULES } from '../../src/migrate/lint/index.js';
import { REPO_ROOT } from '../helpers/cli.js';
import { listMigrationFiles, migrate } from '../../src/migrate/index.js';
import { targetFromUrl } from '../../src/db/connection.js';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';

const cases: Record<string, { bad: string; message: string; ok: string }> = {
  'index-not-concurrent': {
    bad: 'CREATE INDEX users_lang_idx ON users (lang);',
    message:
      'CREATE INDEX users_lang_idx without CONCURRENTLY takes a SHARE lock on users: every INSERT, UPDATE and DELETE on it waits until the build ends.',
    ok: 'CREATE TABLE t (a int);\nCREATE INDEX t_a_idx ON t (a);\n-- and on a view created in the same file\nCREATE MATERIALIZED VIEW mv AS SELECT 1 AS a WITH NO DATA;\nCREATE UNIQUE INDEX mv_a ON mv (a);',
  },
  'concurrent-in-transaction': {
    bad: 'BEGIN;\nCREATE INDEX CONCURRENTLY users_lang_idx ON users (lang);\nCOMMIT;',
    message:
      'CONCURRENTLY cannot run inside a transaction block, and this file opens one with BEGIN at line 2: PostgreSQL refuses the statement.',
    ok: "SET maintenance_work_mem = '1GB';\nCREATE INDEX CONCURRENTLY users_lang_idx ON users (lang);",
  },
  'concurrent-index-unnamed': {
    bad: 'CREATE UNIQUE INDEX CONCURRENTLY ON users (telegram_id);',
    message:
      'CREATE UNIQUE INDEX CONCURRENTLY on users has no name: if the build fails it leaves an INVALID index that still rejects duplicate writes under a name PostgreSQL chose, which dbopt cannot heal or verify, and the rerun builds a second index beside it.',
    ok: 'CREATE UNIQUE INDEX CONCURRENTLY users_telegram_id_key ON users (telegram_id);\n-- a plain build on a new table may stay unnamed\nCREATE TABLE t (a int);\nCREATE INDEX ON t (a);',
  },
  'matview-without-unique-index': {
    bad: 'CREATE MATERIALIZED VIEW mv AS SELECT 1 AS a WITH NO DATA;\nCREATE UNIQUE INDEX mv_a ON mv (a) WHERE a > 0;',
    message:
      'materialized view mv has no unique index on plain columns: REFRESH MATERIALIZED VIEW CONCURRENTLY is impossible, so every refresh takes an ACCESS EXCLUSIVE lock that blocks all reads of the view.',
    ok: 'CREATE MATERIALIZED VIEW s.mv AS SELECT 1 AS a WITH NO DATA;\nCREATE UNIQUE INDEX mv_a ON s.mv (a);',
  },
  'refresh-in-migration': {
    bad: 'REFRESH MATERIALIZED VIEW analytics.daily;',
    message:
      'REFRESH MATERIALIZED VIEW analytics.daily takes an ACCESS EXCLUSIVE lock: every SELECT on the view waits until its whole query has run again.',
    ok: 'REFRESH MATERIALIZED VIEW analytics.daily WITH NO DATA;',
  },
  'lock-timeout-disabled': {
    bad: 'SET lock_timeout = 0;\nALTER TABLE users DROP COLUMN lang;',
    message:
      'this DDL waits for an ACCESS EXCLUSIVE lock on users with lock_timeout turned off: while it waits behind a long transaction, every read and write of the table queues behind it.',
    ok: "SET lock_timeout = 0;\nSET lock_timeout = '1s';\nALTER TABLE users DROP COLUMN lang;",
  },
  'add-column-volatile-default': {
    bad: 'ALTER TABLE users ADD COLUMN token uuid DEFAULT gen_random_uuid();',
    message:
      'ADD COLUMN token with DEFAULT gen_random_uuid() rewrites every row of users under an ACCESS EXCLUSIVE lock: all reads and writes of the table wait for the rewrite.',
    ok: 'ALTER TABLE users ADD COLUMN seen_at timestamptz DEFAULT now();',
  },
  'alter-column-type': {
    bad: 'ALTER TABLE users ALTER COLUMN telegram_id TYPE numeric;',
    message:
      'ALTER COLUMN telegram_id TYPE takes an ACCESS EXCLUSIVE lock on users and, unless the types are binary-compatible, rewrites the table and its indexes: all reads and writes wait meanwhile.',
    ok: 'CREATE TABLE t (a int);\nALTER TABLE t ALTER COLUMN a TYPE bigint;',
  },
  'constraint-not-valid': {
    bad: 'ALTER TABLE sessions ADD CONSTRAINT sessions_user_fk FOREIGN KEY (user_id) REFERENCES users (id);',
    message:
      'ADD CONSTRAINT sessions_user_fk FOREIGN KEY checks every row of sessions while holding SHARE ROW EXCLUSIVE locks on it and the referenced table: writes to both wait for the scan.',
    ok: 'ALTER TABLE sessions ADD CONSTRAINT sessions_user_fk FOREIGN KEY (user_id) REFERENCES users (id) NOT VALID;\nALTER TABLE sessions VALIDATE CONSTRAINT sessions_user_fk;',
  },
  'set-not-null': {
    bad: 'ALTER TABLE users ALTER COLUMN lang SET NOT NULL;',
    message:
      'ALTER COLUMN lang SET NOT NULL scans every row of users under an ACCESS EXCLUSIVE lock: all reads and writes wait for the scan.',
    ok: 'ALTER TABLE users ALTER COLUMN lang DROP NOT NULL;',
  },
  'add-unique-constraint': {
    bad: 'ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE (email);',
    message:
      'ADD CONSTRAINT users_email_key UNIQUE builds a unique index on users under an ACCESS EXCLUSIVE lock: all reads and writes of the table wait for the whole build.',
    ok: 'ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE USING INDEX users_email_idx;',
  },
  'drop-index-not-concurrent': {
    bad: 'DROP INDEX users_lang_idx;',
    message:
      'DROP INDEX users_lang_idx without CONCURRENTLY takes an ACCESS EXCLUSIVE lock on its table: every read and write of the table waits, and queues behind the DROP while it waits for its lock.',
    ok: 'DROP INDEX CONCURRENTLY IF EXISTS users_lang_idx;',
  },
  'add-column-serial': {
    bad: 'ALTER TABLE events ADD COLUMN seq bigserial;',
    message:
      'ADD COLUMN seq bigserial writes a sequence value into every row of events: the table is rewritten under an ACCESS EXCLUSIVE lock and all reads and writes wait.',
    ok: 'CREATE TABLE t (id bigserial, n bigint GENERATED ALWAYS AS IDENTITY);\nALTER TABLE t ADD COLUMN seq bigserial;',
  },
  'add-column-required': {
    bad: 'ALTER TABLE users ADD COLUMN plan text NOT NULL;',
    message:
      'ADD COLUMN plan NOT NULL without a DEFAULT on users: PostgreSQL refuses it once the table has rows, and inserts from the running code (which omit the column) fail.',
    ok: "ALTER TABLE users ADD COLUMN plan text NOT NULL DEFAULT 'free';",
  },
  'reindex-not-concurrent': {
    bad: 'REINDEX (CONCURRENTLY false) INDEX users_lang_idx;',
    message:
      'REINDEX INDEX users_lang_idx without CONCURRENTLY locks each index ACCESS EXCLUSIVE and its table SHARE until the rebuild ends: writes wait, and so does every query planned on the table.',
    ok: 'REINDEX (CONCURRENTLY) INDEX users_lang_idx;',
  },
  'vacuum-full': {
    bad: 'VACUUM (FULL, ANALYZE) messages;',
    message:
      'VACUUM FULL messages rewrites the table under an ACCESS EXCLUSIVE lock: all reads and writes wait for the rewrite.',
    ok: 'VACUUM (FULL false, ANALYZE) messages;',
  },
  cluster: {
    bad: 'CLUSTER messages USING messages_pkey;',
    message:
      'CLUSTER messages rewrites the table under an ACCESS EXCLUSIVE lock: all reads and writes wait for the rewrite.',
    ok: 'ALTER TABLE messages CLUSTER ON messages_pkey;',
  },
  'alter-table-rewrite': {
    bad: 'ALTER TABLE events SET UNLOGGED;',
    message:
      'SET UNLOGGED copies all of events under an ACCESS EXCLUSIVE lock: all reads and writes wait for the copy.',
    ok: 'CREATE TABLE t (a int);\nALTER TABLE t SET UNLOGGED;',
  },
  'lock-table': {
    bad: 'LOCK TABLE users;',
    message:
      'LOCK TABLE users IN ACCESS EXCLUSIVE MODE holds the lock until the migration commits: all reads and writes of the table wait meanwhile.',
    ok: 'LOCK TABLE users IN SHARE UPDATE EXCLUSIVE MODE;',
  },
  'detach-partition-not-concurrent': {
    bad: 'ALTER TABLE events DETACH PARTITION events_2024;',
    message:
      'DETACH PARTITION events_2024 without CONCURRENTLY takes an ACCESS EXCLUSIVE lock on events: all reads and writes of every partition wait.',
    ok: 'ALTER TABLE events DETACH PARTITION events_2024 CONCURRENTLY;',
  },
  'domain-constraint': {
    bad: "ALTER DOMAIN email ADD CONSTRAINT email_at CHECK (VALUE LIKE '%@%');",
    message:
      'ALTER DOMAIN email ADD CONSTRAINT checks every stored value of every column using the domain, locking each such table against writes until its scan ends.',
    ok: "ALTER DOMAIN email ADD CONSTRAINT email_at CHECK (VALUE LIKE '%@%') NOT VALID;\nALTER DOMAIN email VALIDATE CONSTRAINT email_at;",
  },
  truncate: {
    bad: 'TRUNCATE events CASCADE;',
    message:
      'TRUNCATE events CASCADE deletes every row under an ACCESS EXCLUSIVE lock, and every row of each table whose foreign keys reference it: reads and writes wait, and the data is gone.',
    ok: 'CREATE TABLE staging (a int);\nTRUNCATE staging;',
  },
  'drop-database': {
    bad: 'DROP DATABASE app;',
    message:
      'DROP DATABASE app destroys the database and all its data; it runs outside any transaction, so nothing rolls it back.',
    ok: 'DROP SCHEMA IF EXISTS scratch;',
  },
  'transaction-control': {
    bad: 'BEGIN;\nALTER TABLE users ADD COLUMN plan text;\nCOMMIT;',
    message:
      'BEGIN (line 2), COMMIT (line 4) inside a migration that dbopt runs in one transaction: COMMIT/ROLLBACK ends that transaction early, so what follows runs outside it and a retry after a lock timeout re-runs what was already committed.',
    ok: 'ALTER TABLE users ADD COLUMN plan text;',
  },
  'rename-column': {
    bad: 'ALTER TABLE users RENAME COLUMN lang TO locale;',
    message:
      'RENAME COLUMN lang TO locale on users: the application version still running during the deploy queries the old name and fails.',
    ok: 'CREATE TABLE t (a int);\nALTER TABLE t RENAME COLUMN a TO b;',
  },
  'rename-table': {
    bad: 'ALTER TABLE users RENAME TO accounts;',
    message:
      'RENAME users TO accounts: the application version still running during the deploy queries the old name and fails.',
    ok: 'CREATE TABLE t (a int);\nALTER TABLE t RENAME TO u;',
  },
  'drop-column': {
    bad: 'ALTER TABLE users DROP COLUMN lang;',
    message:
      'DROP COLUMN lang on users: the application version still running during the deploy reads or writes it and fails; the data is gone.',
    ok: 'CREATE TABLE t (a int, b int);\nALTER TABLE t DROP COLUMN b;',
  },
  'drop-table': {
    bad: 'DROP TABLE sessions;',
    message:
      'DROP TABLE sessions: its data is gone and the application version still running during the deploy fails on it.',
    ok: 'CREATE TABLE t (a int);\nDROP TABLE t;',
  },
  'drop-not-null': {
    bad: 'ALTER TABLE users ALTER COLUMN lang DROP NOT NULL;',
    message:
      'ALTER COLUMN lang DROP NOT NULL on users: NULLs become possible, and code that assumes the column is always set may break.',
    ok: "ALTER TABLE users ALTER COLUMN lang SET DEFAULT 'en';",
  },
  'prefer-bigint': {
    bad: 'CREATE TABLE t (id integer PRIMARY KEY);',
    message:
      't.id is integer: ids and counters outgrow 32 bits, and widening the column later rewrites t under an ACCESS EXCLUSIVE lock.',
    ok: 'CREATE TABLE t (id bigint PRIMARY KEY);',
  },
  'prefer-text': {
    bad: 'CREATE TABLE t (name varchar(40));',
    message:
      't.name is varchar(n): raising the limit later is easy, but lowering it rewrites t under an ACCESS EXCLUSIVE lock; text with a CHECK changes without a rewrite.',
    ok: 'CREATE TABLE t (name text CHECK (length(name) <= 40), code varchar);',
  },
  'prefer-timestamptz': {
    bad: 'ALTER TABLE users ADD COLUMN seen_at timestamp;',
    message:
      'users.seen_at is timestamp without time zone: values lose their offset, and converting to timestamptz later rewrites users under an ACCESS EXCLUSIVE lock.',
    ok: 'ALTER TABLE users ADD COLUMN seen_at timestamptz;',
  },
  'ban-char': {
    bad: 'CREATE TABLE t (code char(2));',
    message: 't.code is char(n): values are blank-padded to the length, and changing the type later rewrites t.',
    ok: 'CREATE TABLE t (code text);',
  },
  'prefer-identity': {
    bad: 'CREATE TABLE t (id bigserial PRIMARY KEY);',
    message:
      "t.id is bigserial: a serial's sequence is a separate object with its own owner and grants, while an identity column belongs to the table (SQL standard).",
    ok: 'CREATE TABLE t (id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY);',
  },
};

describe('migrate lint rules', () => {
  it('has a failing and an ok example for every rule', () => {
    expect(Object.keys(cases).sort()).toEqual(RULES.map((r) => r.code).sort());
  });

  // Opt-in rules are turned on here as they would be by migrate.lint.rules.
  const everything = Object.fromEntries(RULES.filter((r) => r.optIn).map((r) => [r.code, 'warning' as const]));

  for (const rule of RULES) {
    describe(rule.code, () => {
      it('fires on its failing example with the exact message, file, line, column and a fix', async () => {
        const findings = (
          await lintSql(`-- Up Migration\n${cases[rule.code]!.bad}`, 'bad.sql', { rules: everything })
        ).filter((f) => f.code === rule.code);
        expect(findings.map((f) => f.message)).toEqual([cases[rule.code]!.message]);
        const f = findings[0]!;
        expect(f).toMatchObject({ file: 'bad.sql', column: 1, severity: rule.severity, fix: rule.fix });
        expect(f.line).toBeGreaterThanOrEqual(2);
        expect(rule.fix.length).toBeGreaterThan(10);
      });

      it('stays quiet on its ok example', async () => {
        const findings = (await lintSql(cases[rule.code]!.ok, 'ok.sql', { rules: everything })).filter(
          (f) => f.code === rule.code,
        );
        expect(findings).toEqual([]);
      });
    });
  }

  it('says exactly this for each failing example (squawk-style snapshot: a changed message is a reviewed change)', async () => {
    const said: Record<string, string> = {};
    // The rules this snapshot was taken of; the newer rules' exact messages are in `cases` above.
    const snapshotted = new Set([
      'add-column-volatile-default',
      'alter-column-type',
      'concurrent-in-transaction',
      'concurrent-index-unnamed',
      'constraint-not-valid',
      'index-not-concurrent',
      'lock-timeout-disabled',
      'matview-without-unique-index',
      'refresh-in-migration',
      'set-not-null',
    ]);
    for (const rule of RULES.filter((r) => snapshotted.has(r.code))) {
      const [f] = (await lintSql(`-- Up Migration\n${cases[rule.code]!.bad}`, 'bad.sql')).filter(
        (x) => x.code === rule.code,
      );
      said[rule.code] =
        `${f!.file}:${f!.line}:${f!.column} ${f!.severity}${f!.fatal ? ' (fatal)' : ''}: ${f!.message}\nfix: ${f!.fix}`;
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
      fix: Add the constraint (for a new column: in its own ALTER TABLE ... ADD CONSTRAINT) with NOT VALID, then run ALTER TABLE ... VALIDATE CONSTRAINT in a later migration (it takes a weaker lock).",
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

  it('runs the type-style rules only when migrate.lint.rules turns them on, and honours off and severities', async () => {
    const sql = 'CREATE TABLE t (id integer, name varchar(9), at timestamp, c char(1), s serial);\nDROP INDEX i;';
    expect((await lintSql(sql)).map((f) => f.code)).toEqual(['drop-index-not-concurrent']);
    const on = await lintSql(sql, 'x.sql', {
      rules: { 'prefer-bigint': 'error', 'ban-char': 'warning', 'drop-index-not-concurrent': 'off' },
    });
    expect(on.map((f) => `${f.code} ${f.severity}`)).toEqual([
      'prefer-bigint error',
      'prefer-bigint error',
      'ban-char warning',
    ]);
    expect(activeRules().some((r) => r.optIn)).toBe(false);
  });

  it('reads REINDEX and VACUUM options by value, not by word', async () => {
    const codes = async (sql: string) => (await lintSql(sql)).map((f) => f.code);
    expect(await codes('REINDEX (CONCURRENTLY false) TABLE t;')).toEqual(['reindex-not-concurrent']);
    expect(await codes('REINDEX (CONCURRENTLY 0) TABLE t;')).toEqual(['reindex-not-concurrent']);
    expect(await codes('REINDEX (CONCURRENTLY off) TABLE t;')).toEqual(['reindex-not-concurrent']);
    expect(await codes('REINDEX (CONCURRENTLY on) TABLE t;')).toEqual([]);
    expect(await codes('REINDEX TABLE CONCURRENTLY t;')).toEqual([]);
    expect(await codes('VACUUM FULL t;')).toEqual(['vacuum-full']);
    expect(await codes('VACUUM (FULL off) t;')).toEqual([]);
    expect(await codes('VACUUM (ANALYZE) t;')).toEqual([]);
  });

  it('flags a foreign key declared inline on a new column', async () => {
    const [f] = await lintSql('ALTER TABLE sessions ADD COLUMN user_id bigint REFERENCES users;');
    expect(f).toMatchObject({ code: 'constraint-not-valid', severity: 'error', relation: 'sessions' });
    expect(f!.message).toBe(
      'ADD COLUMN user_id REFERENCES users validates the new foreign key over every row of sessions while holding its ACCESS EXCLUSIVE lock and a SHARE ROW EXCLUSIVE lock on users: writes to both wait for the scan.',
    );
  });

  it('skips breaking-change warnings in a down section, never lock findings', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'dbopt-down-'));
    const file = path.join(dir, '0001_down.sql');
    writeFileSync(
      file,
      '-- Up Migration\nCREATE INDEX CONCURRENTLY i ON t (a);\n-- Down Migration\nDROP INDEX i;\nALTER TABLE t DROP COLUMN a;\n',
    );
    const r = await lintFile(file, '0001_down.sql');
    expect(r.findings.map((f) => `${f.section} ${f.code} ${f.line}`)).toEqual(['down drop-index-not-concurrent 4']);
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
    const err = await migrate({ target: targetFromUrl('postgres://nobody@127.0.0.1:1/none', 'test'), dir }).then(
      () => undefined,
      (e: unknown) => e as { exitCode: number; message: string },
    );
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
    // up builds plainly; the down node-pg-migrate infers drops the index plainly too
    expect(bad.findings.map((f) => `${f.section} ${f.code}`)).toEqual([
      'up index-not-concurrent',
      'down drop-index-not-concurrent',
    ]);
    expect(bad.findings[0]!.message).toContain('users');
    const ok = await lintFile(path.join(dir, '0002_js_concurrent_ok.js'), '0002_js_concurrent_ok.js');
    expect(ok.findings).toEqual([]);
    const tx = await lintFile(path.join(dir, '0003_js_concurrent_in_tx.js'), '0003_js_concurrent_in_tx.js');
    // up, and the down node-pg-migrate infers by reversing it (DROP INDEX CONCURRENTLY)
    expect(tx.findings.map((f) => `${f.section} ${f.code}`)).toEqual([
      'up concurrent-in-transaction',
      'down concurrent-in-transaction',
    ]);
  });

  it('documents every rule in docs/migrate.md and lists it in the README table', () => {
    const docs = readFileSync(path.join(REPO_ROOT, 'docs/migrate.md'), 'utf8');
    const readme = readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');
    for (const rule of [...RULES, { code: 'syntax-error', doc: 'syntax-error', optIn: false }]) {
      expect(docs, rule.code).toContain(`\n### ${rule.doc}\n`);
      expect(docs, `${rule.code} in the squawk comparison`).toMatch(new RegExp(`\\| [^\\n]*\\b${rule.code}\\b`));
      if (!rule.optIn) expect(readme, rule.code).toMatch(new RegExp(`\\n\\| [^|]*\\b${rule.code}\\b`));
    }
  });

  it('finds nothing unsafe in the reference schema', async () => {
    for (const f of listMigrationFiles(path.join(REPO_ROOT, 'migrations'))) {
      expect((await lintFile(f.file)).findings).toEqual([]);
    }
  });
});
