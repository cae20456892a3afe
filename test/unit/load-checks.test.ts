// The load checks and growth exponents over plain figures: each check's ok and failing case.
import { describe, expect, it } from 'vitest';
import type { LoadResult, QueryLoad } from '../../src/audit/load/engine.js';
import { loadOverBudget } from '../../src/audit/load/checks/loadOverBudget.js';
import { loadErrors } from '../../src/audit/load/checks/loadErrors.js';
import { loadThroughputShort } from '../../src/audit/load/checks/loadThroughputShort.js';
import { clientBound } from '../../src/audit/load/checks/clientBound.js';
import { growsWithData } from '../../src/audit/load/checks/growsWithData.js';
import { exponent, growthFacts } from '../../src/audit/load/growth.js';
import { weightedOrder } from '../../src/audit/load/engine.js';
import { loadFindings, loadMix, type LoadCandidate } from '../../src/audit/load/phase.js';
import { loadSections } from '../../src/audit/load/report.js';

const summary = (p95: number) => ({
  count: 100,
  min: p95 / 4,
  mean: p95 / 2,
  p50: p95 / 2,
  p95,
  p99: p95 * 1.2,
  max: p95 * 2,
});

function query(name: string, p95: number, extra: Partial<QueryLoad> = {}): QueryLoad {
  return {
    name,
    weight: 1,
    requests: 100,
    errors: 0,
    timeouts: 0,
    throughput: 1000,
    latency: summary(p95),
    poolWait: summary(p95 * 0.8),
    connection: summary(p95 * 0.2),
    errorSamples: [],
    ...extra,
  };
}

function load(extra: Partial<LoadResult> = {}): LoadResult {
  return {
    model: 'closed',
    concurrency: 1000,
    connections: 16,
    pipeline: 63,
    pooled: false,
    warmupMs: 2000,
    durationMs: 10_000,
    plannedDurationMs: 10_000,
    partial: false,
    requests: 200,
    errors: 0,
    timeouts: 0,
    throughput: 2000,
    latency: summary(40),
    poolWait: summary(30),
    queries: [query('fast', 4), query('slow', 240)],
    server: {
      samples: 50,
      waitEvents: [{ event: 'CPU', samples: 40, share: 0.8 }],
      connections: { maxUsed: 20, max: 100, load: 16 },
      cache: { hits: 100, reads: 0, ratio: 1 },
    },
    client: {
      cpuShare: 0.5,
      eventLoopDelayP99Ms: 1,
      eventLoopDelayMaxMs: 2,
      cpuPerRequestUs: 30,
      bound: false,
      reason: 'client used 50 % of a core',
    },
    budget: { maxConnections: 100, used: 3, reserved: 3, free: 94, share: 0.5, allowed: 47 },
    ...extra,
  };
}

const budgets = {
  fast: { budgetMs: 50, budgetSource: 'tier hot', tier: 'hot' },
  slow: { budgetMs: 50, budgetSource: 'tier hot', tier: 'hot' },
};

describe('load-over-budget', () => {
  it('passes a query whose p95 under load is within budget and fails one above it', () => {
    const out = loadOverBudget.check({ load: load(), budgets, growth: [] });
    expect(out.map((o) => [o.subject, o.status])).toEqual([
      ['fast', 'pass'],
      ['slow', 'fail'],
    ]);
    expect(out[1]!.message).toMatch(
      /p95 240 ms at 1000 in flight over 16 connections is above the tier hot budget 50 ms/,
    );
    expect(out[1]!.message).toMatch(/pool wait p95 192 ms/);
    expect(out[1]!.message).toMatch(/most of it is waiting for a connection/);
  });
  it('does nothing without a load run', () => {
    expect(loadOverBudget.check({ budgets, growth: [] })).toEqual([]);
  });
});

describe('load-errors', () => {
  it('passes without errors and fails naming the error codes', () => {
    const ok = loadErrors.check({ load: load(), budgets, growth: [] });
    expect(ok.every((o) => o.status === 'pass')).toBe(true);
    const bad = loadErrors.check({
      load: load({
        queries: [
          query('blocked', 3, {
            errors: 7,
            timeouts: 7,
            errorSamples: [{ code: '55P03', message: 'canceling statement due to lock timeout', count: 7 }],
          }),
        ],
      }),
      budgets,
      growth: [],
    });
    expect(bad[0]!.status).toBe('fail');
    expect(bad[0]!.message).toMatch(
      /7 of 100 requests failed .*7 timeouts.*55P03: canceling statement due to lock timeout \(7x\)/,
    );
  });
});

describe('load-throughput-short', () => {
  it('applies to the open model only: passes at 95 % and fails below', () => {
    expect(loadThroughputShort.check({ load: load(), budgets, growth: [] })).toEqual([]);
    const ok = loadThroughputShort.check({
      load: load({ model: 'open', rate: 1000, throughput: 960, achievedShare: 0.96 }),
      budgets,
      growth: [],
    });
    expect(ok[0]!.status).toBe('pass');
    const short = loadThroughputShort.check({
      load: load({
        model: 'open',
        rate: 1000,
        arrivals: 'poisson',
        offered: 1000,
        throughput: 700,
        achievedShare: 0.7,
      }),
      budgets,
      growth: [],
    });
    expect(short[0]!.status).toBe('fail');
    expect(short[0]!.message).toBe('achieved 700/s of the 1,000/s offered (70 %; --rate 1,000/s, poisson arrivals)');
  });

  it('judges against what the Poisson schedule offered, not the rate: a window that drew fewer passes', () => {
    const drewFewer = loadThroughputShort.check({
      load: load({ model: 'open', rate: 200, offered: 186, throughput: 185, achievedShare: 185 / 186 }),
      budgets,
      growth: [],
    });
    expect(drewFewer[0]!.status).toBe('pass');
    expect(drewFewer[0]!.message).toContain('185/s of the 186/s offered (99 %; --rate 200/s');
  });
});

describe('client-bound', () => {
  it('warns when the client was the bottleneck, passes otherwise', () => {
    expect(clientBound.check({ load: load(), budgets, growth: [] })[0]!.status).toBe('pass');
    const bound = clientBound.check({
      load: load({
        client: {
          cpuShare: 0.97,
          eventLoopDelayP99Ms: 30,
          eventLoopDelayMaxMs: 50,
          cpuPerRequestUs: 40,
          bound: true,
          reason: 'client used 97 % of a core',
        },
      }),
      budgets,
      growth: [],
    });
    expect(bound[0]!.status).toBe('fail');
    expect(bound[0]!.message).toMatch(
      /^client-bound: these figures understate the server \(client used 97 % of a core/,
    );
    expect(clientBound.severity).toBe('warning');
  });
});

describe('growth and grows-with-data', () => {
  const scansSeq = [{ node: 'Seq Scan', relation: 'messages', schema: 'public' }];
  const scansIdx = [{ node: 'Index Scan', relation: 'messages', schema: 'public' }];
  it('computes exponents as log ratio over log ratio', () => {
    expect(exponent(10, 100, 1000, 10_000)).toBeCloseTo(1, 6);
    expect(exponent(4, 4, 1000, 10_000)).toBeCloseTo(0, 6);
    expect(exponent(4, 8, 1000, 16_000)).toBeCloseTo(0.25, 6);
  });
  it('gives no facts when the data is less than 2x apart', () => {
    expect(
      growthFacts(
        'q',
        'hot',
        { relationRows: { 'public.messages': 1000 }, buffers: 10 },
        { relationRows: { 'public.messages': 1500 }, buffers: 15 },
        scansSeq,
      ),
    ).toBeUndefined();
  });
  it('flags a hot scan whose buffers follow the rows, naming its node, and passes an index look-up', () => {
    const seq = growthFacts(
      'scan',
      'hot',
      { relationRows: { 'public.messages': 30_000 }, buffers: 600, p95: 5 },
      { relationRows: { 'public.messages': 300_000 }, buffers: 6100, p95: 48 },
      scansSeq,
    )!;
    const idx = growthFacts(
      'lookup',
      'hot',
      { relationRows: { 'public.messages': 30_000 }, buffers: 5, p95: 0.3 },
      { relationRows: { 'public.messages': 300_000 }, buffers: 6, p95: 0.3 },
      scansIdx,
    )!;
    expect(seq.node).toBe('Seq Scan on messages');
    expect(seq.p95Exponent!).toBeCloseTo(Math.log(48 / 5) / Math.log(10), 6);
    const out = growsWithData.check({ budgets, growth: [seq, idx] });
    expect(out.map((o) => [o.subject, o.status])).toEqual([
      ['scan', 'fail'],
      ['lookup', 'pass'],
    ]);
    expect(out[0]!.message).toMatch(/buffers ~ rows\^1\.01.*Seq Scan on messages reads more as the data grows/);
  });
  it('does not judge a cold query', () => {
    const cold = growthFacts(
      'report',
      'cold',
      { relationRows: { 'public.messages': 30_000 }, buffers: 600 },
      { relationRows: { 'public.messages': 300_000 }, buffers: 6000 },
      scansSeq,
    )!;
    expect(growsWithData.check({ budgets, growth: [cold] })[0]!.status).toBe('skip');
  });
});

describe('the load mix', () => {
  const c = (name: string, extra: Partial<LoadCandidate> = {}): LoadCandidate => ({
    name,
    text: 'SELECT 1',
    allowWrites: false,
    writes: false,
    placeholders: 0,
    budgetMs: 50,
    budgetSource: 'tier hot',
    ...extra,
  });
  it('leaves allow-writes queries out unless named, and weight-0 queries always', () => {
    const mix = loadMix([c('a'), c('w', { allowWrites: true, writes: true }), c('z', { weight: 0 })]);
    expect(mix.queries.map((q) => q.name)).toEqual(['a']);
    expect(mix.left.map((l) => l.name)).toEqual(['w', 'z']);
    const named = loadMix([c('a'), c('w', { allowWrites: true, writes: true })], ['w']);
    expect(named.queries.map((q) => q.name)).toEqual(['w']);
  });
  it('orders requests by weight', () => {
    const order = weightedOrder([3, 1]);
    expect(order.filter((i) => i === 0).length).toBe(3);
    expect(order.filter((i) => i === 1).length).toBe(1);
    expect(weightedOrder([1, 1, 1]).length).toBe(3);
  });
});

describe('findings and sections', () => {
  it('turns outcomes into audit findings with statuses by severity', () => {
    const f = loadFindings(load({ client: { ...load().client, bound: true } }), budgets, []);
    expect(f.find((x) => x.id === 'slow/load-over-budget')!.status).toBe('fail');
    expect(f.find((x) => x.id === 'load/client-bound')!.status).toBe('warn');
  });
  it('renders a table of short columns', () => {
    const [s] = loadSections(load(), budgets);
    expect(s && 'columns' in s && s.columns.join(' ').length).toBeLessThan(60);
  });
});
