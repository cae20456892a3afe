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
