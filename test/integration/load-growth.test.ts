// Growth with data through the audit: a baseline written at one data size records each
// query's relation row counts; after the data grows 10x an audit prints every query's
// exponents, flags the query whose index a rewrite defeats (grows-with-data, naming its seq
// scan) and passes the indexed look-up.
import { beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { withTestDatabase } from '../helpers/db.js';
import { REPO_ROOT } from '../helpers/cli.js';
import { resolveConfig } from '../../src/config.js';
import { audit, type AuditResult } from '../../src/audit/index.js';
import { auditReport } from '../../src/audit/report.js';

const db = withTestDatabase('dbopt_growth');
const dir = mkdtempSync(path.join(tmpdir(), 'dbopt-growth-'));
const baselineFile = path.join(dir, 'baseline.json');
const config = resolveConfig({}, { rootDir: REPO_ROOT, env: {}, overrides: {} });

const INDEXED =
  '-- name: notes_by_thread\n-- tier: hot\n-- params: [[7], [70], [700]]\nSELECT id, body\nFROM notes\nWHERE thread_id = $1\nORDER BY id DESC\nLIMIT 20;\n';
// thread_id + 0 and id + 0 hide the columns from every index: the planner can only scan the
// whole table and sort.
const DEFEATED =
  '-- name: notes_by_thread_rewritten\n-- tier: hot\n-- params: [[7], [70], [700]]\nSELECT id, body\nFROM notes\nWHERE thread_id + 0 = $1\nORDER BY id + 0 DESC\nLIMIT 20;\n';

async function fill(rows: number): Promise<void> {
  const c = db.get().client;
  await c.query('TRUNCATE notes');
  await c.query(
    `INSERT INTO notes (thread_id, body) SELECT g % 1000, 'note ' || g FROM generate_series(1, $1::int) AS g`,
    [rows],
  );
  await c.query('VACUUM ANALYZE notes');
}

function run(update: boolean): Promise<AuditResult> {
  return audit({
    target: db.get().target,
    audit: { ...config.audit, runs: 5, warmup: 1 },
    refresh: config.refresh,
    queriesDir: dir,
    baselineFile,
    updateBaseline: update,
  });
}

beforeAll(async () => {
  writeFileSync(path.join(dir, 'indexed.sql'), INDEXED);
  writeFileSync(path.join(dir, 'defeated.sql'), DEFEATED);
  await db
    .get()
    .client.query(
      'CREATE TABLE notes (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, thread_id int NOT NULL, body text NOT NULL)',
    );
  await db.get().client.query('CREATE INDEX notes_thread_idx ON notes (thread_id, id DESC)');
});

describe('growth with data', () => {
  it('records relation row counts in the baseline, then flags the query that grows with the data', async () => {
    await fill(20_000);
    const first = await run(true);
    expect(first.growth).toEqual([]);
    const written = JSON.parse(readFileSync(baselineFile, 'utf8')) as {
      queries: Record<string, { relationRows: Record<string, number> }>;
    };
    expect(written.queries.notes_by_thread!.relationRows['public.notes']).toBeGreaterThan(15_000);

    await fill(200_000);
    const later = await run(false);
    const byName = Object.fromEntries(later.growth.map((g) => [g.query, g]));
    expect(Object.keys(byName).sort()).toEqual(['notes_by_thread', 'notes_by_thread_rewritten']);
    expect(byName.notes_by_thread_rewritten!.buffersExponent).toBeGreaterThan(0.5);
    expect(byName.notes_by_thread!.buffersExponent).toBeLessThan(0.5);
    const flagged = later.findings.find((f) => f.id === 'notes_by_thread_rewritten/grows-with-data')!;
    expect(flagged.status).toBe('warn');
    expect(flagged.message, flagged.message).toMatch(/Seq Scan on notes reads more as the data grows/);
    expect(flagged.file).toMatch(/defeated\.sql$/);
    expect(later.findings.find((f) => f.id === 'notes_by_thread/grows-with-data')!.status).toBe('pass');

    // Every query's exponent is printed; --strict makes the warning fail.
    const report = auditReport(later, { strict: true });
    const section = report.sections.find((s) => s.title.startsWith('Growth with data'));
    const printed = section && 'rows' in section ? section.rows.map((r) => String(r[0])) : [];
    expect(printed.sort()).toEqual(['notes_by_thread', 'notes_by_thread_rewritten']);
    expect(report.checks.find((c) => c.id === 'notes_by_thread_rewritten/grows-with-data')!.status).toBe('fail');
  });
});
