// Plan analysis: fingerprints ignore costs, follow nodes and indexes; estimates; heap fetches.
import { describe, expect, it } from 'vitest';
import { analyzePlan, planFingerprint, type ExplainOutput, type PlanNode } from '../../src/audit/plan.js';

const indexOnly = (cost: number, heapFetches = 0): ExplainOutput => ({
  Plan: {
    'Node Type': 'Index Only Scan',
    'Relation Name': 'users',
    Schema: 'public',
    'Index Name': 'users_bot_telegram_cover',
    'Total Cost': cost,
    'Plan Rows': 1,
    'Actual Rows': 1,
    'Actual Loops': 1,
    'Heap Fetches': heapFetches,
    'Shared Hit Blocks': 3,
    'Shared Read Blocks': 1,
  },
  'Execution Time': 0.02,
});

describe('analyzePlan', () => {
  it('fingerprints the shape, not the costs', () => {
    const a = analyzePlan(indexOnly(4.4));
    const b = analyzePlan(indexOnly(9999));
    expect(a.fingerprint).toBe(b.fingerprint);
    const seq: PlanNode = { 'Node Type': 'Seq Scan', 'Relation Name': 'users', 'Total Cost': 400 };
    expect(planFingerprint(seq)).not.toBe(a.fingerprint);
    expect(a.shape).toBe('Index Only Scan using users_bot_telegram_cover on users');
    expect(a.indexesUsed).toEqual(['users_bot_telegram_cover']);
    expect(a.relations).toEqual(['"public"."users"', '"public"."users_bot_telegram_cover"']);
    expect(a.sharedHit).toBe(3);
    expect(a.sharedRead).toBe(1);
  });

  it('sums heap fetches of index-only scans and lists seq scans', () => {
    expect(analyzePlan(indexOnly(4, 12)).heapFetches).toBe(12);
    const plan = analyzePlan({
      Plan: {
        'Node Type': 'Gather',
        Plans: [{ 'Node Type': 'Seq Scan', 'Relation Name': 'messages', Schema: 'public' }],
      },
    });
    expect(plan.seqScans.map((s) => s.node)).toEqual(['Seq Scan on messages']);
    expect(plan.analyzed).toBe(false);
  });

  it('finds the worst row estimate, but not below a Limit that stopped early or under 100 rows', () => {
    const p = analyzePlan({
      Plan: {
        'Node Type': 'Hash Join',
        'Plan Rows': 10,
        'Actual Rows': 5000,
        'Actual Loops': 1,
        Plans: [
          {
            'Node Type': 'Limit',
            'Plan Rows': 50,
            'Actual Rows': 50,
            'Actual Loops': 1,
            Plans: [
              {
                'Node Type': 'Index Scan',
                'Relation Name': 'm',
                'Index Name': 'i',
                'Plan Rows': 100000,
                'Actual Rows': 50,
                'Actual Loops': 1,
              },
            ],
          },
          { 'Node Type': 'Seq Scan', 'Relation Name': 't', 'Plan Rows': 3, 'Actual Rows': 40, 'Actual Loops': 1 },
        ],
      },
    });
    expect(p.worstEstimate?.node).toBe('Hash Join');
    expect(p.worstEstimate?.ratio).toBe(500);
  });
});
