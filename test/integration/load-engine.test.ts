// The load engine against a real server: the closed model at 1000 in flight over 16
// connections, the open model counting latency from the scheduled start, lock_timeout ending a
// blocked request as an error, and the connection pre-check refusing before anything opens.
import { beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { withTestDatabase } from '../helpers/db.js';
import { runLoad, type LoadOptions } from '../../src/audit/load/engine.js';
import { LOAD_CHECKS } from '../../src/audit/load/checks/index.js';
import { UsageError } from '../../src/errors.js';
import { loadConnection } from '../../src/audit/load/connections.js';
import type { WireConnection } from '../../src/audit/load/wire.js';

/** The session's envelope as the server reports it, read through a query that returns it in an error. */
async function readSettings(c: WireConnection): Promise<Record<string, string>> {
  try {
    const text = `SELECT current_setting('default_transaction_read_only') || ',' || current_setting('statement_timeout') || ',' ||
                          current_setting('lock_timeout') || ',' || current_setting('application_name') AS v`;
    // The wire client counts rows without decoding them: raise the values as an error message to read them.
    const err = await new Promise<Error | undefined>((resolve) =>
      c.query(`DO $$BEGIN RAISE EXCEPTION '%', (${text}); END$$`, [], (e) => resolve(e)),
    );
    const [ro, st, lt, app] = String(err?.message).split(',');
    return { ro: ro!, st: st!, lt: lt!, app: app! };
  } finally {
    await c.end();
  }
}

const db = withTestDatabase('dbopt_load');

beforeAll(async () => {
  const c = db.get().client;
  await c.query('CREATE TABLE items (id int PRIMARY KEY, label text NOT NULL)');
  await c.query(`INSERT INTO items SELECT g, 'item ' || g FROM generate_series(1, 10000) AS g`);
  await c.query('CREATE TABLE locked (id int)');
  await c.query('ANALYZE');
});

function options(extra: Partial<LoadOptions>): LoadOptions {
  return {
    target: db.get().target,
    client: db.get().client,
    queries: [
      {
        name: 'item_by_id',
        text: 'SELECT id, label FROM items WHERE id = $1',
        weight: 3,
        params: [['1'], ['77'], ['5000']],
        placeholders: 1,
      },
      {
        name: 'item_count',
        text: 'SELECT count(*) FROM items WHERE id < $1',
        weight: 1,
        params: [['100']],
        placeholders: 1,
      },
    ],
    model: { kind: 'closed', concurrency: 1000 },
    connections: 16,
    durationMs: 1500,
    warmupMs: 300,
    statementTimeoutMs: 5000,
    lockTimeoutMs: 2000,
    maxConnectionShare: 0.5,
    ...extra,
  };
}

const budgets = (ms: number) => ({
  item_by_id: { budgetMs: ms, budgetSource: 'tier hot', tier: 'hot' },
  item_count: { budgetMs: ms, budgetSource: 'tier hot', tier: 'hot' },
});

describe('closed model', () => {
  it('runs 1000 in flight over 16 connections and reports per-query latency apart from pool wait', async () => {
    const r = await runLoad(options({}));
    expect(r.model).toBe('closed');
    expect(r.concurrency).toBe(1000);
    expect(r.partial).toBe(false);
    expect(r.pooled).toBe(false);
    expect(r.errors).toBe(0);
    expect(r.queries.map((q) => q.name)).toEqual(['item_by_id', 'item_count']);
    for (const q of r.queries) {
      expect(q.requests, q.name).toBeGreaterThan(0);
      expect(q.latency.p95, q.name).toBeGreaterThan(0);
      expect(q.latency.p95, q.name).toBeGreaterThanOrEqual(q.latency.p50);
      expect(q.poolWait.count, q.name).toBe(q.requests);
      // Latency is pool wait plus time on the connection, request by request.
      expect(q.latency.max, q.name).toBeGreaterThanOrEqual(q.connection.max - 0.01);
    }
    // The weights shape the mix: 3 to 1.
    const [byId, count] = r.queries;
    expect(byId!.requests / count!.requests).toBeGreaterThan(2);
    expect(byId!.requests / count!.requests).toBeLessThan(4.5);
    expect(r.server.connections.load).toBeLessThanOrEqual(16);
    expect(r.server.connections.max).toBeGreaterThan(0);
    expect(r.client.cpuShare).toBeGreaterThan(0);
    // Bounded by construction: the measured window is the planned one, not stretched by stragglers.
    expect(r.durationMs).toBeCloseTo(r.plannedDurationMs, 3);
    // No load connection is left behind.
    const left = await db
      .get()
      .client.query(
        `SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'dbopt-load' AND datname = current_database()`,
      );
    expect(left.rows[0].n).toBe(0);

    const over = LOAD_CHECKS.find((c) => c.code === 'load-over-budget')!;
    const low = over.check({ load: r, budgets: budgets(r.latency.p95 / 100), growth: [] });
    expect(low.some((o) => o.status === 'fail')).toBe(true);
    const high = over.check({ load: r, budgets: budgets(r.latency.max * 10 + 1), growth: [] });
    expect(high.every((o) => o.status === 'pass')).toBe(true);
  });

  it('opens load sessions read-only, time-bounded and named dbopt-load', async () => {
    const r = await runLoad(
      options({
        queries: [
          {
            name: 'settings',
            weight: 1,
            params: [],
            placeholders: 0,
            text: `SELECT current_setting('default_transaction_read_only') AS ro, current_setting('statement_timeout') AS st,
                      current_setting('lock_timeout') AS lt, current_setting('application_name') AS app`,
          },
        ],
        model: { kind: 'closed', concurrency: 2 },
        connections: 2,
        durationMs: 300,
        warmupMs: 0,
        statementTimeoutMs: 4321,
        lockTimeoutMs: 1234,
      }),
    );
    expect(r.errors).toBe(0);
    const write = await runLoad(
      options({
        queries: [
          { name: 'write', weight: 1, params: [], placeholders: 0, text: 'CREATE TABLE should_not_exist (id int)' },
        ],
        model: { kind: 'closed', concurrency: 1 },
        connections: 1,
        durationMs: 200,
        warmupMs: 0,
      }),
    );
    expect(write.errors).toBeGreaterThan(0);
    expect(write.queries[0]!.errorSamples[0]!.code).toBe('25006');
    const settings = await readSettings(
      await loadConnection(db.get().target, { statementTimeoutMs: 4321, lockTimeoutMs: 1234 }),
    );
    expect(settings).toEqual({ ro: 'on', st: '4321ms', lt: '1234ms', app: 'dbopt-load' });
  });
});

describe('open model', () => {
  it('achieves a rate the server sustains', async () => {
    const r = await runLoad(options({ model: { kind: 'open', rate: 200 }, durationMs: 2000, connections: 4 }));
    expect(r.rate).toBe(200);
    expect(r.arrivals).toBe('poisson');
    expect(r.errors).toBe(0);
    // Poisson arrivals offer the rate on average: 400 ± 20 requests in 2 s.
    expect(r.offered!).toBeGreaterThan(200 * 0.8);
    expect(r.offered!).toBeLessThan(200 * 1.2);
    expect(r.achievedShare!).toBeGreaterThanOrEqual(0.95);
    const short = LOAD_CHECKS.find((c) => c.code === 'load-throughput-short')!;
    expect(short.check({ load: r, budgets: {}, growth: [] })[0]!.status).toBe('pass');
  });

  it('uniform arrivals offer exactly the rate', async () => {
    const r = await runLoad(
      options({ model: { kind: 'open', rate: 200, arrivals: 'uniform' }, durationMs: 2000, connections: 4 }),
    );
    expect(r.arrivals).toBe('uniform');
    expect(r.errors).toBe(0);
    expect(Math.abs(r.offered! - 200)).toBeLessThanOrEqual(2);
    expect(r.achievedShare!).toBeGreaterThanOrEqual(0.95);
  });

  it('keeps the schedule when the next request is due sooner than the idle sleep', async () => {
    // 1000/s uniform: a result comes back with the next request under a millisecond away and
    // nothing in flight, the case the loop waits out on its own thread. The schedule, the rate
    // and the end time must be what they would be without it.
    const r = await runLoad(
      options({
        model: { kind: 'open', rate: 1000, arrivals: 'uniform' },
        durationMs: 1500,
        warmupMs: 0,
        connections: 4,
      }),
    );
    expect(r.errors).toBe(0);
    expect(Math.abs(r.offered! - 1000)).toBeLessThanOrEqual(10);
    expect(r.achievedShare!).toBeGreaterThanOrEqual(0.95);
    expect(r.partial).toBe(false);
    expect(r.durationMs).toBeCloseTo(r.plannedDurationMs, 3);
  });

  it('counts latency from the scheduled start: a slow statement shows its stall', async () => {
    // 20 requests/s of a 100 ms statement over one connection that takes one at a time: the
    // server completes at most 10/s, so requests queue and their latency from the scheduled
    // start grows well past the sleep; the achieved rate falls short.
    const r = await runLoad(
      options({
        queries: [{ name: 'slow', text: 'SELECT pg_sleep(0.1)', weight: 1, params: [], placeholders: 0 }],
        model: { kind: 'open', rate: 20 },
        connections: 1,
        pipeline: 1,
        durationMs: 1500,
        warmupMs: 0,
      }),
    );
    const q = r.queries[0]!;
    expect(q.requests).toBeGreaterThan(0);
    expect(q.latency.p95).toBeGreaterThanOrEqual(100);
    expect(q.latency.max).toBeGreaterThan(q.connection.max);
    expect(q.poolWait.p95).toBeGreaterThan(0);
    expect(r.achievedShare!).toBeLessThan(0.95);
    const short = LOAD_CHECKS.find((c) => c.code === 'load-throughput-short')!;
    expect(short.check({ load: r, budgets: {}, growth: [] })[0]!.status).toBe('fail');
  });
});

describe('safety', () => {
  it('ends a request blocked on a lock with lock_timeout, reports load-errors and ends on time', async () => {
    const holder = new pg.Client({ connectionString: db.get().url });
    await holder.connect();
    try {
      await holder.query('BEGIN');
      await holder.query('LOCK TABLE locked IN ACCESS EXCLUSIVE MODE');
      const r = await runLoad(
        options({
          queries: [{ name: 'blocked', text: 'SELECT count(*) FROM locked', weight: 1, params: [], placeholders: 0 }],
          model: { kind: 'closed', concurrency: 4 },
          connections: 2,
          durationMs: 1000,
          warmupMs: 0,
          lockTimeoutMs: 200,
        }),
      );
      const q = r.queries[0]!;
      expect(q.errors).toBeGreaterThan(0);
      expect(q.timeouts).toBe(q.errors);
      expect(q.errorSamples.map((e) => e.code)).toContain('55P03');
      // The run ended by itself at its planned duration, the blocked requests ended by lock_timeout.
      expect(r.partial).toBe(false);
      expect(r.durationMs).toBeCloseTo(r.plannedDurationMs, 3);
      const errors = LOAD_CHECKS.find((c) => c.code === 'load-errors')!;
      const out = errors.check({ load: r, budgets: {}, growth: [] });
      expect(out[0]!.status).toBe('fail');
      expect(out[0]!.message).toMatch(/55P03/);
    } finally {
      await holder.query('ROLLBACK').catch(() => undefined);
      await holder.end();
    }
  });

  it('refuses more connections than the allowed share of free ones, naming both, before opening any', async () => {
    const err = await runLoad(options({ connections: 5000 })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UsageError);
    const m = /--connections 5000 is more than the (\d+) allowed: 50 % of the server's (\d+) free connections/.exec(
      (err as Error).message,
    );
    expect(m, (err as Error).message).not.toBeNull();
    expect(Number(m![1])).toBe(Math.floor(Number(m![2]) * 0.5));
    const { rows } = await db
      .get()
      .client.query(
        `SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'dbopt-load' AND datname = current_database()`,
      );
    expect(rows[0].n).toBe(0);
  });

  it('stops early, partial, when every load connection is lost', async () => {
    const kill = setTimeout(() => {
      void db
        .get()
        .client.query(
          `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'dbopt-load' AND datname = current_database()`,
        );
    }, 700);
    try {
      const r = await runLoad(
        options({ durationMs: 20_000, warmupMs: 200, connections: 3, model: { kind: 'closed', concurrency: 30 } }),
      );
      expect(r.partial).toBe(true);
      expect(r.stoppedBy).toMatch(/^every load connection was lost: terminating connection/);
      expect(r.queries.flatMap((q) => q.errorSamples.map((e) => e.code))).toContain('57P01');
    } finally {
      clearTimeout(kill);
    }
  });

  it('marks figures partial when stopped', async () => {
    const ac = new AbortController();
    setTimeout(() => ac.abort(new Error('SIGINT')), 700);
    const r = await runLoad(
      options({
        durationMs: 20_000,
        warmupMs: 200,
        signal: ac.signal,
        connections: 4,
        model: { kind: 'closed', concurrency: 50 },
      }),
    );
    expect(r.partial).toBe(true);
    expect(r.stoppedBy).toBe('SIGINT');
    expect(r.durationMs).toBeLessThan(20_000);
    expect(r.requests).toBeGreaterThan(0);
  });
});
