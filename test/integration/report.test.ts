// dbopt report's library on a small purpose-built schema: index usage with duplicate and
// unindexed-foreign-key notes, materialized views, pg_stat_statements when it can be read, and
// a table locked by another session skipped instead of waited for.
import { beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { withTestDatabase } from '../helpers/db.js';
import { health, type HealthResult } from '../../src/health/index.js';
import { healthReport } from '../../src/health/report.js';

const db = withTestDatabase('dbopt_report');
let result: HealthResult;

beforeAll(async () => {
  const c = db.get().client;
  await c.query(`CREATE TABLE parent (id int PRIMARY KEY)`);
  await c.query(`CREATE TABLE child (id int PRIMARY KEY, parent_id int REFERENCES parent (id), a int, b int)`);
  await c.query(`CREATE INDEX child_a ON child (a)`);
  await c.query(`CREATE INDEX child_a_b ON child (a, b)`);
  // A covering index the planner uses for index-only scans on b: not a duplicate of (b, id).
  await c.query(`CREATE INDEX child_b_cover ON child (b) INCLUDE (a)`);
  await c.query(`CREATE INDEX child_b_id ON child (b, id)`);
  // Same expression and predicate written at other positions: compared as parse trees, a duplicate.
  await c.query(`CREATE INDEX child_expr ON child ((a + 1)) WHERE b > 0`);
  await c.query(`CREATE INDEX    child_expr_b    ON child ((a + 1), b)    WHERE b > 0`);
  await c.query(`CREATE INDEX child_expr_desc ON child ((a + 1) DESC) WHERE b > 0`);
  // dbopt's own bookkeeping, never scanned here: not an unused index to report.
  await c.query(`CREATE SCHEMA IF NOT EXISTS dbopt`);
  await c.query(`CREATE TABLE dbopt.bookkeeping (id int, v int)`);
  await c.query(`CREATE INDEX bookkeeping_v ON dbopt.bookkeeping (v)`);
  await c.query(`CREATE MATERIALIZED VIEW child_count AS SELECT count(*) AS n FROM child WITH NO DATA`);
  await c.query(`CREATE EXTENSION IF NOT EXISTS pg_stat_statements`).catch(() => undefined);
  result = await health({
    target: db.get().target,
    audit,
    refresh,
  });
});
const audit = { minCacheHitRatio: 0.9, minBlocks: 1000, statementTimeoutMs: 5000, lockTimeoutMs: 1000 };
const refresh = { include: ['*.*'], exclude: [], schedules: {}, defaultSchedule: '1h' };

describe('dbopt report (library)', () => {
  it('lists indexes with duplicate notes and foreign keys without an index', () => {
    const dup = result.indexes.find((i) => i.index === 'child_a')!;
    expect(dup.notes).toContain('duplicate of child_a_b');
    expect(result.foreignKeysWithoutIndex).toEqual(['child (parent_id) -> parent']);
    const notes = (name: string): string[] => result.indexes.find((i) => i.index === name)!.notes;
    expect(notes('child_b_cover').filter((n) => n.startsWith('duplicate'))).toEqual([]);
    expect(notes('child_expr')).toContain('duplicate of child_expr_b');
    expect(notes('child_expr_desc').filter((n) => n.startsWith('duplicate'))).toEqual([]);
    expect(result.locked).toEqual([]);
  });

  it("does not flag dbopt's own indexes (the same filter as the audit's unused-index check)", () => {
    expect(result.indexes.find((i) => i.index === 'dbopt.bookkeeping_v')).toMatchObject({ scans: 0, notes: [] });
    expect(result.indexes.find((i) => i.index === 'child_a_b')!.notes).toEqual([
      expect.stringMatching(/^no scans yet/),
    ]);
  });

  it('finishes behind an ACCESS EXCLUSIVE lock held by another session, and says what it skipped', async () => {
    const holder = new pg.Client({ connectionString: db.get().url });
    await holder.connect();
    try {
      await holder.query('BEGIN');
      await holder.query('LOCK TABLE child IN ACCESS EXCLUSIVE MODE');
      const r = await health({ target: db.get().target, audit, refresh });
      expect(r.locked).toContain('public.child');
      expect(r.lockedNote).toMatch(
        /^not judged: size and definition of .*public\.child.* \(locked: another session holds or awaits an ACCESS EXCLUSIVE lock\)/,
      );
      expect(r.indexes.find((i) => i.index === 'child_a')).toMatchObject({
        sizeBytes: null,
        notes: expect.arrayContaining(['duplicate of child_a_b']),
      });
      expect(r.tables.find((t) => t.table === 'child')?.sizeBytes ?? null).toBeNull();
      expect(r.indexes.find((i) => i.index === 'parent_pkey')!.sizeBytes).toBeGreaterThan(0);
    } finally {
      await holder.query('ROLLBACK').catch(() => undefined);
      await holder.end();
    }
  });

  it('shows views with staleness unknown without refresh history', () => {
    expect(result.views).toEqual([
      expect.objectContaining({ view: 'public.child_count', populated: false, schedule: '1h' }),
    ]);
    expect(result.refreshHistory).toBe(false);
    const report = healthReport(result);
    expect(report.ok).toBe(true);
    expect(report.sections.find((s) => s.title === 'Materialized views')).toMatchObject({
      note: expect.stringContaining('No refresh history'),
    });
  });

  it('reads pg_stat_statements when it can, and says how to enable it when it cannot', () => {
    if (result.statements.available) {
      expect(Array.isArray(result.statements.top)).toBe(true);
    } else {
      expect(result.statements.reason).toMatch(/pg_stat_statements .*shared_preload_libraries/);
    }
  });
});
