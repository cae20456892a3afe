// dbopt report's renderer: no gate, every section present, pg_stat_statements fallback text.
import { describe, expect, it } from 'vitest';
import { healthReport } from '../../src/health/report.js';
import type { HealthResult } from '../../src/health/index.js';

const base: HealthResult = {
  server: 'u@h:5432/db',
  serverVersion: '18.1',
  statsSince: '2026-01-01T00:00:00.000Z',
  statsDays: 30,
  cache: [
    { scope: 'database', name: 'database', cumulative: { hit: 99, read: 1, ratio: 0.99, verdict: 'not enough data' } },
  ],
  indexes: [{ index: 'i', table: 't', scans: 0, sizeBytes: 8192, unique: false, valid: true, notes: ['unused'] }],
  foreignKeysWithoutIndex: [],
  tables: [],
  views: [],
  refreshHistory: true,
  locked: [],
  statements: { available: false, reason: 'pg_stat_statements is not installed in this database: add ...', top: [] },
};

describe('healthReport', () => {
  it('is always ok and counts flagged indexes', () => {
    const r = healthReport(base);
    expect(r.ok).toBe(true);
    expect(r.summary).toContain('1 indexes (1 flagged)');
    expect(r.sections.map((s) => s.title)).toEqual([
      'Cache hit ratios (since stats reset)',
      'Index usage',
      'Tables',
      'Materialized views',
      'Top statements',
    ]);
  });

  it('lists top statements when available', () => {
    const r = healthReport({
      ...base,
      statements: {
        available: true,
        top: [{ query: 'SELECT 1', calls: 3, totalMs: 1.5, meanMs: 0.5, rows: 3, hitRatio: null }],
      },
    });
    expect(r.sections[4]!.title).toContain('pg_stat_statements');
  });

  it('says which relations were locked and shows their size as locked', () => {
    const r = healthReport({
      ...base,
      indexes: [{ ...base.indexes[0]!, sizeBytes: null }],
      locked: ['public.t'],
      lockedNote: 'not judged: size and definition of public.t (locked: ...)',
    });
    const section = r.sections.find((s) => s.title === 'Index usage') as { note?: string; rows: unknown[][] };
    expect(section.note).toContain('not judged: size and definition of public.t');
    expect(section.rows[0]![3]).toBe('locked');
  });
});
