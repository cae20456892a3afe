// migrate lint with a connection: lock findings carry the real table's rows, size and write
// rate; a table under migrate.lint.smallTable, or created earlier in the pending set, makes the
// same statement a note.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { adminUrl } from '../helpers/db.js';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.js';
import { lintFiles } from '../../src/migrate/lint/index.js';
import { sizeFindings } from '../../src/migrate/lint/context.js';
import { DEFAULT_SMALL_TABLE } from '../../src/config.js';
import { migrate } from '../../src/migrate/index.js';
import { targetFromUrl } from '../../src/db/connection.js';

let db: TestDatabase;
let client: pg.Client;

beforeAll(async () => {
  db = await createTestDatabase(adminUrl(), 'dbopt_lint_ctx');
  client = new pg.Client({ connectionString: db.url });
  await client.connect();
  await client.query('CREATE TABLE small_t (id bigint PRIMARY KEY, lang text)');
  await client.query('CREATE TABLE big_t (id bigint PRIMARY KEY, lang text)');
  await client.query(`INSERT INTO small_t SELECT g, 'en' FROM generate_series(1, 100) AS g`);
  await client.query(`INSERT INTO big_t SELECT g, 'en' FROM generate_series(1, 20000) AS g`);
  await client.query(`UPDATE big_t SET lang = 'ru' WHERE id <= 500`);
  await client.query('ANALYZE small_t, big_t');
  await client.query('SELECT pg_stat_force_next_flush()').catch(() => undefined);
});

afterAll(async () => {
  await client?.end();
  await db?.drop();
});

function dir(files: Record<string, string>): string {
  const d = mkdtempSync(path.join(tmpdir(), 'dbopt-lint-ctx-'));
  for (const [name, sql] of Object.entries(files)) writeFileSync(path.join(d, name), sql);
  return d;
}

describe('migrate lint sized by the database', () => {
  it('the same plain index build is a note on a 100-row table and an error naming rows, size and writes/s above the threshold', async () => {
    const d = dir({
      '0001_small.sql': '-- Up Migration\nCREATE INDEX small_t_lang ON small_t (lang);\n',
      '0002_big.sql': '-- Up Migration\nCREATE INDEX big_t_lang ON big_t (lang);\n',
    });
    const files = ['0001_small.sql', '0002_big.sql'].map((f) => path.join(d, f));
    const unsized = await lintFiles(files);
    expect(unsized.sized).toBe(false);
    expect(unsized.findings.map((f) => f.severity)).toEqual(['error', 'error']);
    // Stats reach pg_stat_user_tables asynchronously: wait until the inserts are counted.
    for (let i = 0; i < 100; i++) {
      const { rows } = await client.query(
        `SELECT n_tup_ins::int AS n FROM pg_stat_user_tables WHERE relname = 'big_t'`,
      );
      if (rows[0]?.n >= 20000) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const sized = await sizeFindings(client, await lintFiles(files), DEFAULT_SMALL_TABLE, 'test-server');
    expect(sized.sized).toBe(true);
    const [small, big] = sized.findings;
    expect(small).toMatchObject({ code: 'index-not-concurrent', severity: 'note', fatal: false, table: { rows: 100 } });
    expect(small!.message).toMatch(
      /Note: public\.small_t: 100 rows, [\d.]+ kB, [\d.,]+ writes\/s; lock held under 1 s \(estimated from its size at a typical rewrite or build rate\), under migrate\.lint\.smallTable \(10,000 rows\), so the lock is brief\.$/,
    );
    expect(big).toMatchObject({ code: 'index-not-concurrent', severity: 'error', table: { rows: 20000 } });
    expect(big!.message).toMatch(
      / Sized: public\.big_t: 20,000 rows, [\d.]+ [kM]B, [\d.,]+ writes\/s; lock held (under|about) /,
    );
    expect(big!.table!.bytes).toBeGreaterThan(small!.table!.bytes);
    expect(big!.table!.writesPerSec).toBeGreaterThan(0);
    expect(sized.errors).toBe(1);
    expect(sized.notes).toBe(1);
  });

  it('a lock finding on a table created by an earlier pending file of the set is a note; an applied one does not count', async () => {
    const d = dir({
      '0001_create.sql': '-- Up Migration\nCREATE TABLE fresh_t (id bigint, lang text);\n',
      '0002_index.sql': '-- Up Migration\nCREATE INDEX fresh_t_lang ON fresh_t (lang);\n',
    });
    const files = ['0001_create.sql', '0002_index.sql'].map((f) => path.join(d, f));
    const pendingBoth = await lintFiles(files, { pending: new Set(files) });
    expect(pendingBoth.findings.map((f) => f.severity)).toEqual(['note']);
    expect(pendingBoth.findings[0]!.message).toContain('fresh_t is created earlier in this migration set');
    const onlySecond = await lintFiles(files, { pending: new Set([files[1]!]) });
    expect(onlySecond.findings.map((f) => f.severity)).toEqual(['error']);
  });

  it('a DROP INDEX is sized by the table the index belongs to', async () => {
    await client.query('CREATE INDEX big_t_lang_idx ON big_t (lang)');
    const d = dir({ '0001_drop.sql': '-- Up Migration\nDROP INDEX big_t_lang_idx;\n' });
    const sized = await sizeFindings(
      client,
      await lintFiles([path.join(d, '0001_drop.sql')]),
      DEFAULT_SMALL_TABLE,
      'test-server',
    );
    expect(sized.findings[0]).toMatchObject({
      code: 'drop-index-not-concurrent',
      severity: 'error',
      table: { rows: 20000 },
    });
    expect(sized.findings[0]!.message).toContain('public.big_t: 20,000 rows');
  });

  it('the lint before up applies a plain build on a small table and refuses one on a big table naming rows, size and writes/s', async () => {
    const d = dir({ '0001_small.sql': '-- Up Migration\nCREATE INDEX small_t_lang2 ON small_t (lang);\n' });
    const target = targetFromUrl(db.url, 'test');
    const ok = await migrate({ target, dir: d });
    expect(ok.ran.map((r) => r.name)).toEqual(['0001_small']);
    writeFileSync(path.join(d, '0002_big.sql'), '-- Up Migration\nCREATE INDEX big_t_lang2 ON big_t (lang);\n');
    const err = await migrate({ target, dir: d }).then(
      () => undefined,
      (e: unknown) => e as { exitCode: number; message: string; details: string[] },
    );
    expect(err?.exitCode).toBe(1);
    expect(err?.message).toContain('in pending migrations');
    expect(err?.details.join('\n')).toMatch(
      /0002_big\.sql:2:1: error index-not-concurrent: .* public\.big_t: 20,000 rows, [\d.]+ [kM]B, [\d.,]+ writes\/s/,
    );
    const { rows } = await client.query(`SELECT count(*)::int AS n FROM pg_indexes WHERE indexname = 'big_t_lang2'`);
    expect(rows[0].n).toBe(0);
  });
});
