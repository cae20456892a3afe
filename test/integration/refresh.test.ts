// dbopt refresh-views against a real server: dependency order and failure propagation, mode
// choice (never populated -> plain then concurrent; no usable unique index -> plain with a
// warning), readers not blocked during CONCURRENTLY (and blocked during plain, the control),
// and fleet safety: 2 then 5 refreshers at once refresh each due view exactly once.
// Small purpose-built tables; slowness comes from a per-row pg_sleep the test controls.
import { describe, expect, it } from 'vitest';
import pg from 'pg';
import { withTestDatabase } from '../helpers/db.js';
import { refreshPlan, refreshStatus, refreshViews, type RefreshSettings, type ViewResult } from '../../src/refresh/index.js';

const db = withTestDatabase('dbopt_refresh');

function settings(include: string[], extra: Partial<RefreshSettings> = {}): RefreshSettings {
  return {
    include, exclude: [], concurrency: 2, defaultSchedule: '1h', schedules: {},
    statementTimeoutMs: 60_000, lockTimeoutMs: 5_000, ...extra,
  };
}

async function sql(text: string, params: unknown[] = []): Promise<pg.QueryResult> {
  return db.get().client.query(text, params);
}

/** slow_row(view, x): sleeps delay_config.seconds for that view, then returns x (per row). */
async function ensureSlowFunction(): Promise<void> {
  await sql(`CREATE TABLE IF NOT EXISTS delay_config (view text PRIMARY KEY, seconds float8 NOT NULL)`);
  await sql(`
    CREATE OR REPLACE FUNCTION slow_row(v text, x int) RETURNS int LANGUAGE plpgsql VOLATILE AS $$
    DECLARE s float8;
    BEGIN
      SELECT seconds INTO s FROM public.delay_config WHERE view = v;
      IF s > 0 THEN PERFORM pg_sleep(s); END IF;
      RETURN x;
    END $$`);
}

async function setDelay(view: string, seconds: number): Promise<void> {
  await sql(`INSERT INTO delay_config VALUES ($1, $2) ON CONFLICT (view) DO UPDATE SET seconds = excluded.seconds`, [view, seconds]);
}

function byView(results: ViewResult[]): Record<string, ViewResult> {
  return Object.fromEntries(results.map((r) => [r.view, r]));
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Until a REFRESH of `view` is executing on the server. */
async function refreshRunning(view: string): Promise<number> {
  return waitFor(`REFRESH of ${view} to start`, async () => {
    const { rows } = await sql(`
      SELECT pid
        FROM pg_stat_activity
       WHERE datname = current_database()
         AND state = 'active'
         AND query LIKE 'REFRESH MATERIALIZED VIEW%' || $1 || '%'`, [view]);
    return rows[0]?.pid as number | undefined;
  });
}

describe('refresh-views: order and failure propagation', () => {
  it('refreshes a view built on another after it, and not at all when the base fails', async () => {
    await sql(`CREATE TABLE ord_nums (id int PRIMARY KEY, d int NOT NULL)`);
    await sql(`INSERT INTO ord_nums SELECT g, 1 + g % 5 FROM generate_series(1, 200) AS g`);
    await sql(`CREATE MATERIALIZED VIEW ord_base AS SELECT id, 100 / d AS q FROM ord_nums WITH NO DATA`);
    await sql(`CREATE UNIQUE INDEX ON ord_base (id)`);
    // Through a plain view, as real schemas do.
    await sql(`CREATE VIEW ord_base_v AS SELECT * FROM ord_base`);
    await sql(`CREATE MATERIALIZED VIEW ord_dep AS SELECT count(*) AS n, sum(q) AS total FROM ord_base_v WITH NO DATA`);
    await sql(`CREATE MATERIALIZED VIEW ord_zindependent AS SELECT count(*) AS n FROM ord_nums WITH NO DATA`);
    const s = settings(['public.ord_*']);

    const plan = await refreshPlan({ target: db.get().target, settings: s, all: true });
    const order = plan.views.map((v) => v.view);
    expect(order.indexOf('public.ord_base')).toBeLessThan(order.indexOf('public.ord_dep'));
    expect(plan.views.find((v) => v.view === 'public.ord_dep')!.dependsOn).toEqual(['public.ord_base']);

    const first = await refreshViews({ target: db.get().target, settings: s, all: true });
    expect(first.ok).toBe(true);
    expect(first.views.map((v) => v.outcome)).toEqual(['refreshed', 'refreshed', 'refreshed']);
    const { rows: times } = await sql(`
      SELECT view_name, started_at, finished_at
        FROM dbopt.refresh_history
       WHERE view_name IN ('public.ord_base', 'public.ord_dep')`);
    const t = Object.fromEntries(times.map((r) => [r.view_name, r]));
    expect(t['public.ord_dep'].started_at.getTime()).toBeGreaterThanOrEqual(t['public.ord_base'].finished_at.getTime());

    // Division by zero in the base view's query: it fails, its dependent is not refreshed.
    await sql(`INSERT INTO ord_nums VALUES (1000, 0)`);
    const second = await refreshViews({ target: db.get().target, settings: s, all: true });
    const r = byView(second.views);
    expect(second.ok).toBe(false);
    expect(r['public.ord_base']!.outcome).toBe('failed');
    expect(r['public.ord_base']!.error).toContain('division by zero');
    expect(r['public.ord_dep']!.outcome).toBe('skipped-dependency-failed');
    expect(r['public.ord_dep']!.why).toContain('public.ord_base');
    expect(r['public.ord_zindependent']!.outcome).toBe('refreshed');
    const { rows: hist } = await sql(`SELECT outcome, error FROM dbopt.refresh_history WHERE view_name = 'public.ord_base' ORDER BY id DESC LIMIT 1`);
    expect(hist[0]).toMatchObject({ outcome: 'failed' });
    expect(hist[0].error).toContain('division by zero');
  });
});

describe('refresh-views: mode', () => {
  it('fills a never-populated view plain, then refreshes it concurrently', async () => {
    await sql(`CREATE TABLE mode_src AS SELECT g AS id FROM generate_series(1, 100) AS g`);
    await sql(`CREATE MATERIALIZED VIEW mode_uniq AS SELECT id FROM mode_src WITH NO DATA`);
    await sql(`CREATE UNIQUE INDEX ON mode_uniq (id)`);
    const s = settings(['public.mode_uniq']);
    const first = await refreshViews({ target: db.get().target, settings: s, views: ['mode_uniq'] });
    expect(first.views[0]).toMatchObject({ outcome: 'refreshed', mode: 'plain' });
    expect(first.views[0]!.why).toContain('never populated');
    expect(first.views[0]!.warning).toBeUndefined();
    const second = await refreshViews({ target: db.get().target, settings: s, views: ['public.mode_uniq'] });
    expect(second.views[0]).toMatchObject({ outcome: 'refreshed', mode: 'concurrent' });
    const { rows } = await sql(`SELECT mode FROM dbopt.refresh_history WHERE view_name = 'public.mode_uniq' ORDER BY id`);
    expect(rows.map((r) => r.mode)).toEqual(['plain', 'concurrent']);
  });

  it('refreshes plain, with a warning that readers block, without a usable unique index', async () => {
    await sql(`CREATE MATERIALIZED VIEW mode_none AS SELECT id FROM mode_src`);
    await sql(`CREATE MATERIALIZED VIEW mode_partial AS SELECT id FROM mode_src`);
    await sql(`CREATE UNIQUE INDEX ON mode_partial (id) WHERE id > 10`);
    await sql(`CREATE MATERIALIZED VIEW mode_expr AS SELECT id FROM mode_src`);
    await sql(`CREATE UNIQUE INDEX ON mode_expr ((id + 1))`);
    await sql(`CREATE INDEX ON mode_none (id)`);
    const res = await refreshViews({ target: db.get().target, settings: settings(['public.mode_none', 'public.mode_partial', 'public.mode_expr']), all: true });
    expect(res.views).toHaveLength(3);
    for (const v of res.views) {
      expect(v).toMatchObject({ outcome: 'refreshed', mode: 'plain' });
      expect(v.warning).toContain('ACCESS EXCLUSIVE');
      expect(v.warning).toContain('blocks every reader');
      expect(v.warning).toContain(`CREATE UNIQUE INDEX CONCURRENTLY ON ${v.view}`);
    }
  });
});

describe('refresh-views: readers during a refresh', () => {
  it('a reader with lock_timeout 100ms reads during CONCURRENTLY, and times out during a plain refresh', async () => {
    await ensureSlowFunction();
    await sql(`CREATE TABLE rd_src AS SELECT g AS id FROM generate_series(1, 4) AS g`);
    await setDelay('rd_view', 0);
    await sql(`CREATE MATERIALIZED VIEW rd_view AS SELECT public.slow_row('rd_view', id) AS id FROM rd_src`);
    await sql(`CREATE UNIQUE INDEX rd_view_id ON rd_view (id)`);
    await setDelay('rd_view', 0.5); // 4 rows: about 2 s per refresh
    const s = settings(['public.rd_view']);
    const reader = new pg.Client({ connectionString: db.get().url });
    await reader.connect();
    try {
      await reader.query(`SET lock_timeout = '100ms'`);
      const concurrent = refreshViews({ target: db.get().target, settings: s, views: ['rd_view'] });
      await refreshRunning('rd_view');
      const { rows } = await reader.query('SELECT count(*)::int AS n FROM rd_view');
      expect(rows[0].n).toBe(4);
      const c = await concurrent;
      expect(c.views[0]).toMatchObject({ outcome: 'refreshed', mode: 'concurrent' });

      // Control: without the unique index the refresh is plain and takes ACCESS EXCLUSIVE.
      await sql('DROP INDEX rd_view_id');
      const plain = refreshViews({ target: db.get().target, settings: s, views: ['rd_view'] });
      await refreshRunning('rd_view');
      await expect(reader.query('SELECT count(*) FROM rd_view')).rejects.toMatchObject({ code: '55P03' });
      const p = await plain;
      expect(p.views[0]).toMatchObject({ outcome: 'refreshed', mode: 'plain' });
    } finally {
      await reader.end();
    }
  });
});

describe('refresh-views: fleet safety', () => {
  it('with 2 and then 5 refreshers at once, each due view is refreshed exactly once', async () => {
    await ensureSlowFunction();
    await sql(`CREATE TABLE fl_src AS SELECT g AS id FROM generate_series(1, 3) AS g`);
    for (const v of ['fl_a', 'fl_b']) {
      await setDelay(v, 0);
      await sql(`CREATE MATERIALIZED VIEW ${v} AS SELECT public.slow_row('${v}', id) AS id FROM fl_src`);
      await sql(`CREATE UNIQUE INDEX ON ${v} (id)`);
      await setDelay(v, 0.5); // 3 rows: 1.5 s, long enough for every refresher to collide
    }
    await sql(`CREATE MATERIALIZED VIEW fl_dep AS SELECT count(*) AS n FROM fl_a`);
    await sql(`CREATE UNIQUE INDEX ON fl_dep (n)`);
    const s = settings(['public.fl_*']);
    const views = ['public.fl_a', 'public.fl_b', 'public.fl_dep'];

    for (const n of [2, 5]) {
      // Make every view due: its last success an hour and a half ago (schedule 1h).
      await sql(`UPDATE dbopt.refresh_history SET started_at = started_at - interval '90 minutes' WHERE view_name LIKE 'public.fl\\_%'`).catch(() => undefined);
      const since = (await sql('SELECT clock_timestamp() AS t')).rows[0].t as Date;
      const runs = await Promise.all(Array.from({ length: n }, () => refreshViews({ target: db.get().target, settings: s })));
      const { rows } = await sql(`
        SELECT view_name, count(*)::int AS n
          FROM dbopt.refresh_history
         WHERE started_at >= $1
           AND outcome = 'ok'
         GROUP BY view_name`, [since]);
      expect(Object.fromEntries(rows.map((r) => [r.view_name, r.n]))).toEqual({ 'public.fl_a': 1, 'public.fl_b': 1, 'public.fl_dep': 1 });
      let elsewhere = 0;
      for (const view of views) {
        const outcomes = runs.map((r) => byView(r.views)[view]!);
        expect(outcomes.filter((o) => o.outcome === 'refreshed')).toHaveLength(1);
        for (const o of outcomes.filter((x) => x.outcome !== 'refreshed')) {
          // The loser either found the lock taken, or took it just after the winner committed
          // and found the view no longer due.
          expect(['skipped-elsewhere', 'skipped-not-due']).toContain(o.outcome);
          expect(o.why).toContain('elsewhere');
          if (o.outcome === 'skipped-elsewhere') {
            elsewhere++;
            expect(o.why).toContain('refreshing elsewhere');
          }
        }
      }
      expect(elsewhere).toBeGreaterThan(0);
      for (const r of runs) expect(r.ok).toBe(true);
    }
  });

  it('--status shows schedule, last success, age, overdue, mode, last duration and size', async () => {
    const s = settings(['public.fl_*', 'public.mode_uniq'], { schedules: { 'public.fl_a': '*/5 * * * *' } });
    await sql(`UPDATE dbopt.refresh_history SET started_at = started_at - interval '2 hours' WHERE view_name = 'public.mode_uniq'`);
    const st = await refreshStatus({ target: db.get().target, settings: s });
    const v = Object.fromEntries(st.views.map((e) => [e.view, e]));
    expect(v['public.fl_a']).toMatchObject({ schedule: '*/5 * * * *', overdue: false, mode: 'concurrent', populated: true });
    expect(v['public.fl_a']!.lastDurationMs).toBeGreaterThan(0);
    expect(v['public.fl_a']!.sizeBytes).toBeGreaterThan(0);
    expect(v['public.fl_a']!.ageMs).toBeGreaterThanOrEqual(0);
    expect(v['public.mode_uniq']).toMatchObject({ schedule: '1h', overdue: true });
    expect(v['public.mode_uniq']!.overdueByMs).toBeGreaterThan(50 * 60_000);
    expect(st.overdue).toBeGreaterThanOrEqual(1);
  });
});
