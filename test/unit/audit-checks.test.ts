// Every check with an ok and a failing case, on plain objects (checks never touch a server).
import { describe, expect, it } from 'vitest';
import { analyzePlan, type PlanNode } from '../../src/audit/plan.js';
import { runChecks } from '../../src/audit/index.js';
import { QUERY_CHECKS, SCHEMA_CHECKS, type CheckSettings } from '../../src/audit/checks/index.js';
import { duplicateIndexes } from '../../src/catalog/indexes.js';
import { indexUsage } from '../../src/health/index.js';
import { baselineEntry, nextBaseline } from '../../src/audit/baseline.js';
import type { IndexFact, SchemaFacts } from '../../src/catalog/schema.js';
import { fakeRun } from '../fixtures/audit/runs.js';

const settings: CheckSettings = {
  costRegression: 0.25,
  seqScanRows: 10000,
  minCacheHitRatio: 0.9,
  minBlocks: 100,
  schedules: {},
  defaultSchedule: '1h',
  include: ['analytics.*'],
  exclude: [],
};
const check = (code: string) => QUERY_CHECKS.find((c) => c.code === code)!;
const schemaCheck = (code: string) => SCHEMA_CHECKS.find((c) => c.code === code)!;
const plan = (root: PlanNode) => analyzePlan({ Plan: root });
const indexScan: PlanNode = {
  'Node Type': 'Index Scan',
  'Relation Name': 'users',
  'Index Name': 'users_k',
  'Total Cost': 8,
  'Plan Rows': 1,
  'Actual Rows': 1,
  'Actual Loops': 1,
  'Shared Hit Blocks': 4,
};
const seqScan: PlanNode = {
  'Node Type': 'Seq Scan',
  'Relation Name': 'users',
  'Total Cost': 900,
  'Plan Rows': 1,
  'Actual Rows': 1,
  'Actual Loops': 1,
  'Shared Hit Blocks': 400,
};

describe('query checks', () => {
  it('over-budget: p95 within / over budget / statement timeout', () => {
    const c = check('over-budget');
    expect(c.check({ run: fakeRun('q'), settings })?.status).toBe('pass');
    const over = c.check({
      run: fakeRun('q', { latency: { runs: 10, min: 60, p50: 70, p95: 80, p99: 90, max: 95, mean: 70 } }),
      settings,
    })!;
    expect(over.status).toBe('fail');
    expect(over.message).toContain('p95 80 ms > 50 ms (tier hot)');
    const timeout = c.check({
      run: fakeRun('q', { status: 'timeout', latency: undefined, statementTimeoutMs: 4000 }),
      settings,
    })!;
    expect(timeout.message).toMatch(/^over budget: > 4,000 ms/);
  });

  it('expected-index-missing names the query, the index and the new plan node', () => {
    const c = check('expected-index-missing');
    const expect1 = [{ kind: 'index' as const, index: 'users_k' }];
    expect(c.check({ run: fakeRun('q', { expect: expect1, plan: plan(indexScan) }), settings })?.status).toBe('pass');
    const o = c.check({ run: fakeRun('q', { expect: expect1, plan: plan(seqScan) }), settings })!;
    expect(o.status).toBe('fail');
    expect(o.message).toContain('query "q" no longer uses index users_k: the plan reads Seq Scan on users');
    expect(o.line).toBe(4);
    expect(c.check({ run: fakeRun('q'), settings })).toBeUndefined();
  });

  it('index-only-heap-fetches: clean, heap fetches, not index-only', () => {
    const c = check('index-only-heap-fetches');
    const ios = (fetches: number): PlanNode => ({
      ...indexScan,
      'Node Type': 'Index Only Scan',
      'Heap Fetches': fetches,
    });
    const io = [{ kind: 'index-only' as const }];
    expect(c.check({ run: fakeRun('q', { expect: io, plan: plan(ios(0)) }), settings })?.status).toBe('pass');
    expect(c.check({ run: fakeRun('q', { expect: io, plan: plan(ios(7)) }), settings })?.message).toContain(
      'fetched 7 rows from the heap',
    );
    expect(c.check({ run: fakeRun('q', { expect: io, plan: plan(indexScan) }), settings })?.message).toContain(
      'expects an index-only scan',
    );
  });

  it('no-seq-scan and seq-scan-large', () => {
    const ns = [{ kind: 'no-seq-scan' as const }];
    expect(
      check('no-seq-scan').check({ run: fakeRun('q', { expect: ns, plan: plan(indexScan) }), settings })?.status,
    ).toBe('pass');
    expect(
      check('no-seq-scan').check({ run: fakeRun('q', { expect: ns, plan: plan(seqScan) }), settings })?.status,
    ).toBe('fail');
    const small = plan(seqScan);
    small.seqScans[0]!.relationRows = 500;
    expect(check('seq-scan-large').check({ run: fakeRun('q', { plan: small }), settings })?.status).toBe('pass');
    const large = plan(seqScan);
    large.seqScans[0]!.relationRows = 200000;
    expect(check('seq-scan-large').check({ run: fakeRun('q', { plan: large }), settings })?.message).toContain(
      'Seq Scan on users (200,000 rows)',
    );
  });

  it('cost-regression, buffers-up, plan-changed against a baseline; skipped without one', () => {
    const base = baselineEntry(fakeRun('q', { plan: plan(indexScan) }))!;
    const same = fakeRun('q', { plan: plan(indexScan) });
    const worse = fakeRun('q', { plan: plan(seqScan) });
    for (const code of ['cost-regression', 'buffers-up', 'plan-changed']) {
      expect(check(code).check({ run: same, baseline: base, settings })?.status).toBe('pass');
      expect(check(code).check({ run: worse, baseline: base, settings })?.status).toBe('fail');
      const skip = check(code).check({ run: worse, baselineNote: 'no baseline', settings })!;
      expect(skip.status).toBe('skip');
      expect(skip.message).toMatch(/^no baseline/);
    }
    expect(check('cost-regression').check({ run: worse, baseline: base, settings })?.message).toContain(
      'estimated cost 8 -> 900',
    );
  });

  it('generic-plan-differs: the cached generic plan the runs timed against the custom plan checked', () => {
    const c = check('generic-plan-differs');
    const generic = (root: PlanNode) => {
      const p = plan(root);
      return { fingerprint: p.fingerprint, shape: p.shape, totalCost: p.totalCost };
    };
    const timed = (root: PlanNode) => ({ plan: 'generic' as const, reason: 'plan cache', generic: generic(root) });
    expect(c.check({ run: fakeRun('q', { plan: plan(indexScan) }), settings })).toBeUndefined();
    const custom = fakeRun('q', { plan: plan(seqScan), timedPlan: { plan: 'custom', reason: 'forced' } });
    expect(c.check({ run: custom, settings })).toBeUndefined();
    const same = fakeRun('q', { plan: plan(indexScan), timedPlan: timed(indexScan) });
    expect(c.check({ run: same, settings })?.status).toBe('pass');
    const differs = c.check({ run: fakeRun('q', { plan: plan(seqScan), timedPlan: timed(indexScan) }), settings })!;
    expect(differs.status).toBe('fail');
    expect(differs.message).toContain(
      'cached generic plan, Index Scan using users_k on users (cost 8), ' +
        'not the custom plan checked, Seq Scan on users (cost 900): ' +
        "the application's prepared statements run the generic plan.",
    );
    expect(differs.message).toContain('Fix: compare the two for the values that matter');
  });

  it('row-estimate-off and cache-hit-low', () => {
    expect(check('row-estimate-off').check({ run: fakeRun('q', { plan: plan(indexScan) }), settings })?.status).toBe(
      'pass',
    );
    const off = check('row-estimate-off').check({
      run: fakeRun('q', { plan: plan({ ...seqScan, 'Plan Rows': 10, 'Actual Rows': 5000 }) }),
      settings,
    })!;
    expect(off.status).toBe('fail');
    expect(off.message).toContain('estimated 10 rows, got 5,000 (500x off)');
    const c = check('cache-hit-low');
    expect(c.check({ run: fakeRun('q', { plan: plan(indexScan) }), settings })?.message).toContain('not enough data');
    expect(
      c.check({
        run: fakeRun('q', { plan: plan({ ...seqScan, 'Shared Hit Blocks': 100, 'Shared Read Blocks': 300 }) }),
        settings,
      })?.status,
    ).toBe('fail');
    expect(
      c.check({
        run: fakeRun('q', { plan: plan({ ...seqScan, 'Shared Hit Blocks': 990, 'Shared Read Blocks': 10 }) }),
        settings,
      })?.status,
    ).toBe('pass');
  });

  it('query-error and view-not-populated', () => {
    expect(check('query-error').check({ run: fakeRun('q'), settings })?.status).toBe('pass');
    const err = check('query-error').check({
      run: fakeRun('q', {
        status: 'error',
        error: {
          code: '42703',
          message: 'column "x" does not exist',
          lines: ['queries/q.sql:5:8: ERROR 42703: column "x" does not exist'],
          line: 5,
          column: 8,
        },
      }),
      settings,
    })!;
    expect(err.status).toBe('fail');
    expect(err.column).toBe(8);
    const np = check('view-not-populated').check({
      run: fakeRun('q', { status: 'not-populated', error: { message: '', lines: [], line: 5, relation: 'daily' } }),
      settings,
    })!;
    expect(np.message).toContain('view daily not populated: run dbopt refresh-views');
    expect(check('view-not-populated').check({ run: fakeRun('q'), settings })).toBeUndefined();
  });
});

const idx = (over: Partial<IndexFact>): IndexFact => ({
  schema: 'public',
  table: 't',
  name: 'i',
  keys: [1],
  keyNames: ['a'],
  include: [],
  opclasses: [1],
  options: [0],
  collations: [0],
  method: 'btree',
  unique: false,
  nullsNotDistinct: false,
  primary: false,
  constraint: false,
  valid: true,
  building: false,
  predicate: null,
  expressions: null,
  scans: 5,
  sizeBytes: 8192,
  definition: '',
  locked: false,
  ...over,
});
const facts = (over: Partial<SchemaFacts> = {}): SchemaFacts => ({
  now: '2026-01-31T00:00:00.000Z',
  statsSince: '2026-01-01T00:00:00.000Z',
  indexes: [],
  foreignKeys: [],
  views: [],
  refreshHistory: true,
  locked: [],
  ...over,
});

describe('schema checks', () => {
  it('invalid-index', () => {
    expect(schemaCheck('invalid-index').check(facts({ indexes: [idx({})] }), settings)[0]!.status).toBe('pass');
    expect(
      schemaCheck('invalid-index').check(facts({ indexes: [idx({ valid: false })] }), settings)[0]!.message,
    ).toContain('is INVALID');
    expect(
      schemaCheck('invalid-index').check(facts({ indexes: [idx({ valid: false, building: true })] }), settings)[0]!
        .status,
    ).toBe('pass');
  });

  it('duplicate-index: prefix and twins, but not unique prefixes or different predicates', () => {
    const c = schemaCheck('duplicate-index');
    const long = idx({ name: 'long', keys: [1, 2], opclasses: [1, 1], keyNames: ['a', 'b'] });
    expect(c.check(facts({ indexes: [idx({ name: 'short' }), long] }), settings)[0]!.message).toContain(
      'index short (a) is covered by long (a, b)',
    );
    expect(c.check(facts({ indexes: [idx({ name: 'short', unique: true }), long] }), settings)[0]!.status).toBe('pass');
    expect(c.check(facts({ indexes: [idx({ name: 'short', predicate: 'active' }), long] }), settings)[0]!.status).toBe(
      'pass',
    );
    const twins = c.check(facts({ indexes: [idx({ name: 'a1' }), idx({ name: 'a2' })] }), settings);
    expect(twins).toHaveLength(1);
    expect(twins[0]!.subject).toBe('a2');
  });

  describe('duplicate-index: what makes an index redundant', () => {
    const long = idx({
      name: 'long',
      keys: [1, 2],
      opclasses: [1, 1],
      options: [0, 0],
      collations: [0, 0],
      keyNames: ['a', 'b'],
    });
    const pairs = (...indexes: IndexFact[]): string[] =>
      duplicateIndexes(indexes).map(([a, b]) => `${a.name}<${b.name}`);

    it('a covering index (INCLUDE) is not redundant to a longer key without those columns', () => {
      expect(pairs(idx({ name: 'short', include: [3] }), long)).toEqual([]);
      // ... but it is when the longer index holds the included column, as a key or an INCLUDE
      expect(pairs(idx({ name: 'short', include: [2] }), long)).toEqual(['short<long']);
      expect(pairs(idx({ name: 'short', include: [3] }), { ...long, include: [3] })).toEqual(['short<long']);
    });

    it('twins: never the one with more INCLUDE columns; exact twins once', () => {
      expect(pairs(idx({ name: 'a1', include: [3] }), idx({ name: 'a2' }))).toEqual(['a2<a1']);
      expect(pairs(idx({ name: 'a1' }), idx({ name: 'a2', include: [3] }))).toEqual(['a1<a2']);
      expect(pairs(idx({ name: 'a1', include: [3] }), idx({ name: 'a2', include: [3] }))).toEqual(['a2<a1']);
    });

    it('keys compared with sort options, collation and operator class, not just attnums', () => {
      expect(pairs(idx({ name: 'short', options: [3] }), long)).toEqual([]); // DESC NULLS FIRST
      expect(pairs(idx({ name: 'short', collations: [950] }), long)).toEqual([]); // COLLATE "C"
      expect(pairs(idx({ name: 'short', opclasses: [2] }), long)).toEqual([]); // text_pattern_ops
      expect(pairs(idx({ name: 'short', options: [3] }), { ...long, options: [3, 0] })).toEqual(['short<long']);
    });

    it('the predicate and the key expressions must be the same', () => {
      expect(pairs(idx({ name: 'short', predicate: '{VAR}' }), long)).toEqual([]);
      expect(pairs(idx({ name: 'short' }), { ...long, predicate: '{VAR}' })).toEqual([]);
      expect(pairs(idx({ name: 'short', predicate: '{VAR}' }), { ...long, predicate: '{VAR}' })).toEqual([
        'short<long',
      ]);
      const e1 = '({FUNCEXPR :funcid 870})';
      expect(
        pairs(idx({ name: 'short', keys: [0], expressions: e1 }), { ...long, keys: [0, 2], expressions: e1 }),
      ).toEqual(['short<long']);
      expect(
        pairs(idx({ name: 'short', keys: [0], expressions: e1 }), {
          ...long,
          keys: [0, 2],
          expressions: '({FUNCEXPR :funcid 871})',
        }),
      ).toEqual([]);
    });

    it('same access method only', () => {
      expect(pairs(idx({ name: 'short', method: 'hash' }), long)).toEqual([]);
    });

    it('a unique index only when the other is unique on exactly the same keys; constraint indexes never', () => {
      expect(pairs(idx({ name: 'short', unique: true }), { ...long, unique: true })).toEqual([]);
      expect(pairs(idx({ name: 'u1', unique: true }), idx({ name: 'u2' }))).toEqual(['u2<u1']);
      expect(pairs(idx({ name: 'u1', unique: true }), idx({ name: 'u2', unique: true }))).toEqual(['u2<u1']);
      expect(
        pairs(idx({ name: 'u1', unique: true }), idx({ name: 'u2', unique: true, nullsNotDistinct: true })),
      ).toEqual([]);
      expect(
        pairs(idx({ name: 'a_pkey', unique: true, constraint: true, primary: true }), idx({ name: 'z', unique: true })),
      ).toEqual(['z<a_pkey']);
      expect(
        pairs(idx({ name: 'z_pkey', unique: true, constraint: true, primary: true }), idx({ name: 'a', unique: true })),
      ).toEqual(['a<z_pkey']);
    });
  });

  it('unused-index: judged only past 7 days of statistics, never for constraint indexes', () => {
    const c = schemaCheck('unused-index');
    expect(
      c
        .check(
          facts({ indexes: [idx({ scans: 0 }), idx({ name: 'pk', scans: 0, unique: true, constraint: true })] }),
          settings,
        )
        .map((o) => o.subject),
    ).toEqual(['i']);
    expect(c.check(facts({ indexes: [idx({ scans: 3 })] }), settings)[0]!.status).toBe('pass');
    const fresh = c.check(
      facts({ statsSince: '2026-01-30T23:00:00.000Z', indexes: [idx({ scans: 0 })] }),
      settings,
    )[0]!;
    expect(fresh.status).toBe('skip');
    expect(fresh.message).toContain('not judged: statistics cover 60 minutes');
  });

  it('fk-without-index', () => {
    const c = schemaCheck('fk-without-index');
    const fk = {
      schema: 'public',
      table: 't',
      name: 't_a_fkey',
      columns: [1],
      columnNames: ['a'],
      references: 'parent',
    };
    expect(c.check(facts({ foreignKeys: [fk], indexes: [idx({ keys: [1, 2] })] }), settings)[0]!.status).toBe('pass');
    expect(c.check(facts({ foreignKeys: [fk], indexes: [idx({ keys: [2, 1] })] }), settings)[0]!.message).toContain(
      'foreign key t_a_fkey on t (a) -> parent has no index',
    );
    expect(c.check(facts({ foreignKeys: [fk], indexes: [idx({ predicate: 'x' })] }), settings)[0]!.status).toBe('fail');
  });

  it('view-overdue: on schedule, overdue, never refreshed, no history', () => {
    const c = schemaCheck('view-overdue');
    const view = (lastSuccess?: string) => ({ name: 'analytics.daily', populated: true, sizeBytes: 1, lastSuccess });
    expect(c.check(facts({ views: [view('2026-01-30T23:30:00.000Z')] }), settings)[0]!.status).toBe('pass');
    expect(c.check(facts({ views: [view('2026-01-30T20:00:00.000Z')] }), settings)[0]!.message).toContain(
      'is overdue by 180 min (schedule 1h',
    );
    expect(c.check(facts({ views: [view()] }), settings)[0]!.message).toContain('has no successful refresh');
    const none = c.check(facts({ refreshHistory: false, views: [view()] }), settings)[0]!;
    expect(none.status).toBe('skip');
    expect(none.message).toMatch(/^no refresh history/);
    expect(c.check(facts({ views: [{ ...view(), name: 'public.other' }] }), settings)[0]!.status).toBe('pass');
  });
});

describe('runChecks', () => {
  it('maps warnings and errors, and does not compare a baseline of another major', () => {
    const base = nextBaseline(
      undefined,
      [fakeRun('q', { plan: plan(indexScan) })],
      { version: '18.1', versionNum: 180001, major: 18 },
      false,
    );
    const run = fakeRun('q', { plan: plan(seqScan) });
    const same = runChecks([run], base, { major: 18 }, facts(), settings);
    expect(same.find((f) => f.code === 'cost-regression')?.status).toBe('fail');
    expect(same.find((f) => f.code === 'plan-changed')?.status).toBe('warn');
    const other = runChecks([run], base, { major: 15 }, facts(), settings);
    expect(other.find((f) => f.code === 'cost-regression')?.message).toMatch(
      /^baseline from PostgreSQL 18, server is 15: cost 900 not compared/,
    );
  });
});

describe('unused indexes: one answer for audit and report', () => {
  // dbopt's own bookkeeping (dbopt.migrations, dbopt.refresh_history) is scanned rarely by
  // design: neither the audit nor `dbopt report` calls its indexes unused.
  const own = idx({ schema: 'dbopt', table: 'refresh_history', name: 'refresh_history_view_started', scans: 0 });
  const app = idx({ name: 'users_email', scans: 0 });

  it("dbopt report does not flag dbopt's own indexes, and flags the application's", () => {
    const usage = indexUsage([own, app], 30);
    expect(usage.find((u) => u.index === 'dbopt.refresh_history_view_started')!.notes).toEqual([]);
    expect(usage.find((u) => u.index === 'users_email')!.notes).toEqual(['unused']);
  });

  it("the audit's unused-index check agrees", () => {
    const out = schemaCheck('unused-index').check(facts({ indexes: [own, app] }), settings);
    expect(out.map((o) => o.subject)).toEqual(['users_email']);
  });
});
