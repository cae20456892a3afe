// dbopt report's library on a small purpose-built schema: index usage with duplicate and
// unindexed-foreign-key notes, materialized views, and pg_stat_statements when it can be read.
import { beforeAll, describe, expect, it } from 'vitest';
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
  await c.query(`CREATE MATERIALIZED VIEW child_count AS SELECT count(*) AS n FROM child WITH NO DATA`);
  await c.query(`CREATE EXTENSION IF NOT EXISTS pg_stat_statements`).catch(() => undefined);
  result = await health({
    target: db.get().target,
    audit: { minCacheHitRatio: 0.9, minBlocks: 1000 },
    refresh: { include: ['*.*'], exclude: [], schedules: {}, defaultSchedule: '1h' },
  });
});

describe('dbopt report (library)', () => {
  it('lists indexes with duplicate notes and foreign keys without an index', () => {
    const dup = result.indexes.find((i) => i.index === 'child_a')!;
    expect(dup.notes).toContain('duplicate of child_a_b');
    expect(result.foreignKeysWithoutIndex).toEqual(['child (parent_id) -> parent']);
  });

  it('shows views with staleness unknown without refresh history', () => {
    expect(result.views).toEqual([expect.objectContaining({ view: 'public.child_count', populated: false, schedule: '1h' })]);
    expect(result.refreshHistory).toBe(false);
    const report = healthReport(result);
    expect(report.ok).toBe(true);
    expect(report.sections.find((s) => s.title === 'Materialized views')).toMatchObject({ note: expect.stringContaining('No refresh history') });
  });

  it('reads pg_stat_statements when it can, and says how to enable it when it cannot', () => {
    if (result.statements.available) {
      expect(Array.isArray(result.statements.top)).toBe(true);
    } else {
      expect(result.statements.reason).toMatch(/pg_stat_statements .*shared_preload_libraries/);
    }
  });
});
