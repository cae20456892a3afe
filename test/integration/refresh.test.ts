// dbopt refresh-views against a real server: dependency order and failure propagation, mode
// choice (never populated -> plain then concurrent; no usable unique index -> plain with a
// warning), readers not blocked during CONCURRENTLY (and blocked during plain, the control),
// and fleet safety: 2 then 5 refreshers at once refresh each due view exactly once. Failure
// handling: a failing view backs off (--watch does not spin on it), a named --watch survives
// its view being dropped, a stop just before REFRESH starts none, and a failure is recorded
// while the view's advisory lock is still held.
// Small purpose-built tables; slowness comes from a per-row pg_sleep the test controls.
import { describe, expect, it } from 'vitest';
import pg from 'pg';
import { withTestDatabase } from '../helpers/db.js';
import { waitFor } from '../helpers/wait.js';
import {
  refreshPlan,
  refreshStatus,
  refreshViews,
  watchViews,
  type RefreshSettings,
  type ViewResult,
} from '../../src/refresh/index.js';
import type { Logger } from '../../src/logger.js';

const db = withTestDatabase('dbopt_refresh');

function settings(include: string[], extra: Partial<RefreshSettings> = {}): RefreshSettings {
  return {
    include,
    exclude: [],
    concurrency: 2,
    defaultSchedule: '1h',
    schedules: {},
    statementTimeoutMs: 60_000,
    lockTimeoutMs: 5_000,
    ...extra,
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
  await sql(`INSERT INTO delay_config VALUES ($1, $2) ON CONFLICT (view) DO UPDATE SET seconds = excluded.seconds`, [
    view,
    seconds,
  ]);
}

function byView(results: ViewResult[]): Record<string, ViewResult> {
  return Object.fromEntries(results.map((r) => [r.view, r]));
}

/** Until a REFRESH of `view` is executing on the server. */
async function refreshRunning(view: string): Promise<number> {
  return waitFor(`REFRESH of ${view} to start`, async () => {
    const { rows } = await sql(
      `
      SELECT pid
        FROM pg_stat_activity
       WHERE datname = current_database()
         AND state = 'active'
         AND query LIKE 'REFRESH MATERIALIZED VIEW%' || $1 || '%'`,
      [view],
    );
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
    const { rows: hist } = await sql(
      `SELECT outcome, error FROM dbopt.refresh_history WHERE view_name = 'public.ord_base' ORDER BY id DESC LIMIT 1`,
    );
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
    const { rows } = await sql(
      `SELECT mode FROM dbopt.refresh_history WHERE view_name = 'public.mode_uniq' ORDER BY id`,
    );
    expect(rows.map((r) => r.mode)).toEqual(['plain', 'concurrent']);
  });

  it('refreshes plain, with a warning that readers block, without a usable unique index', async () => {
    await sql(`CREATE MATERIALIZED VIEW mode_none AS SELECT id FROM mode_src`);
    await sql(`CREATE MATERIALIZED VIEW mode_partial AS SELECT id FROM mode_src`);
    await sql(`CREATE UNIQUE INDEX ON mode_partial (id) WHERE id > 10`);
    await sql(`CREATE MATERIALIZED VIEW mode_expr AS SELECT id FROM mode_src`);
    await sql(`CREATE UNIQUE INDEX ON mode_expr ((id + 1))`);
    await sql(`CREATE INDEX ON mode_none (id)`);
    const res = await refreshViews({
      target: db.get().target,
      settings: settings(['public.mode_none', 'public.mode_partial', 'public.mode_expr']),
      all: true,
    });
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
      await sql(
        `UPDATE dbopt.refresh_history SET started_at = started_at - interval '90 minutes' WHERE view_name LIKE 'public.fl\\_%'`,
      ).catch(() => undefined);
      const since = (await sql('SELECT clock_timestamp() AS t')).rows[0].t as Date;
      const runs = await Promise.all(
        Array.from({ length: n }, () => refreshViews({ target: db.get().target, settings: s })),
      );
      const { rows } = await sql(
        `
        SELECT view_name, count(*)::int AS n
          FROM dbopt.refresh_history
         WHERE started_at >= $1
           AND outcome = 'ok'
         GROUP BY view_name`,
        [since],
      );
      expect(Object.fromEntries(rows.map((r) => [r.view_name, r.n]))).toEqual({
        'public.fl_a': 1,
        'public.fl_b': 1,
        'public.fl_dep': 1,
      });
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
    await sql(
      `UPDATE dbopt.refresh_history SET started_at = started_at - interval '2 hours' WHERE view_name = 'public.mode_uniq'`,
    );
    const st = await refreshStatus({ target: db.get().target, settings: s });
    const v = Object.fromEntries(st.views.map((e) => [e.view, e]));
    expect(v['public.fl_a']).toMatchObject({
      schedule: '*/5 * * * *',
      overdue: false,
      mode: 'concurrent',
      populated: true,
    });
    expect(v['public.fl_a']!.lastDurationMs).toBeGreaterThan(0);
    expect(v['public.fl_a']!.sizeBytes).toBeGreaterThan(0);
    expect(v['public.fl_a']!.ageMs).toBeGreaterThanOrEqual(0);
    expect(v['public.mode_uniq']).toMatchObject({ schedule: '1h', overdue: true });
    expect(v['public.mode_uniq']!.overdueByMs).toBeGreaterThan(50 * 60_000);
    expect(st.overdue).toBeGreaterThanOrEqual(1);
  });
});

describe('refresh-views: failures and stops', () => {
  it('--watch backs off a failing view instead of retrying it in a loop; cron runs skip it until the backoff ends', async () => {
    await sql(`CREATE TABLE bo_src (d int NOT NULL)`);
    await sql(`INSERT INTO bo_src VALUES (0)`);
    await sql(`CREATE MATERIALIZED VIEW bo_fail AS SELECT 1 / d AS q FROM bo_src WITH NO DATA`);
    const s = settings(['public.bo_fail']);
    const stop = new AbortController();
    let failures = 0;
    const watching = watchViews({
      target: db.get().target,
      settings: s,
      signal: stop.signal,
      maxSleepMs: 100,
      onResult: (r) => {
        if (r.outcome === 'failed') failures++;
      },
    });
    try {
      await waitFor('the first failure', async () => (failures >= 1 ? true : undefined));
      // Many watch cycles (maxSleepMs 100ms); without a backoff this was hundreds of attempts.
      await new Promise((r) => setTimeout(r, 2000));
    } finally {
      stop.abort();
    }
    const w = await watching;
    const { rows } = await sql(`SELECT outcome FROM dbopt.refresh_history WHERE view_name = 'public.bo_fail'`);
    expect(rows.length).toBeGreaterThanOrEqual(1);
    expect(rows.length).toBeLessThanOrEqual(3);
    expect(rows.every((r) => r.outcome === 'failed')).toBe(true);
    expect(w.failed).toBe(rows.length);
    expect(w.cycles).toBeGreaterThan(1);

    // A scheduled (cron) run leaves it alone until the backoff ends, and says why.
    const cron = await refreshViews({ target: db.get().target, settings: s });
    expect(cron.ok).toBe(true);
    expect(cron.views[0]).toMatchObject({ outcome: 'skipped-not-due' });
    expect(cron.views[0]!.why).toContain('backing off after');
    const plan = await refreshPlan({ target: db.get().target, settings: s });
    expect(plan.views[0]).toMatchObject({ due: false, willRefresh: false });
    const st = await refreshStatus({ target: db.get().target, settings: s });
    expect(st.views[0]).toMatchObject({ overdue: true, lastOutcome: 'failed' });

    // Naming the view retries it now; once it succeeds the backoff is gone.
    await sql(`UPDATE bo_src SET d = 1`);
    const named = await refreshViews({ target: db.get().target, settings: s, views: ['bo_fail'] });
    expect(named.views[0]).toMatchObject({ outcome: 'refreshed' });
    const after = await refreshViews({ target: db.get().target, settings: s });
    expect(after.views[0]!.why).toContain('not due until');
  });

  it('a named --watch keeps running, with a warning, when its view is dropped', async () => {
    await sql(`CREATE MATERIALIZED VIEW wn_good AS SELECT 1 AS id`);
    await sql(`CREATE MATERIALIZED VIEW wn_other AS SELECT 1 AS id`);
    const warnings: string[] = [];
    const logger: Logger = { info: () => undefined, debug: () => undefined, warn: (m) => warnings.push(m) };
    const s = settings(['public.wn_*'], { schedules: { 'public.wn_good': '300ms' } });
    const stop = new AbortController();
    let refreshed = 0;
    const watching = watchViews({
      target: db.get().target,
      settings: s,
      views: ['wn_good'],
      signal: stop.signal,
      logger,
      maxSleepMs: 100,
      onResult: (r) => {
        if (r.outcome === 'refreshed') refreshed++;
      },
    });
    let ended = false;
    void watching.finally(() => (ended = true)).catch(() => undefined);
    try {
      await waitFor('a refresh', async () => (refreshed >= 1 ? true : undefined));
      await sql('DROP MATERIALIZED VIEW wn_good');
      // The watcher must neither stop nor fail: wait for its warning (or its end, to fail fast).
      await waitFor('the warning', async () =>
        ended || warnings.some((m) => m.includes('public.wn_good is no longer')) ? true : undefined,
      );
      expect(ended).toBe(false);
    } finally {
      stop.abort();
    }
    const w = await watching;
    expect(w.refreshed).toBeGreaterThanOrEqual(1);
    expect(Object.keys(w.views)).toEqual(['public.wn_good']);
    expect(warnings.filter((m) => m.includes('is no longer'))).toHaveLength(1);
  });

  it('a stop requested before the REFRESH is sent starts no refresh and records the attempt cancelled', async () => {
    await sql(`CREATE TABLE st_src (v int NOT NULL)`);
    await sql(`INSERT INTO st_src VALUES (1)`);
    await sql(`CREATE MATERIALIZED VIEW st_view AS SELECT v FROM st_src WITH NO DATA`);
    const s = settings(['public.st_view']);
    expect((await refreshViews({ target: db.get().target, settings: s, views: ['st_view'] })).ok).toBe(true);
    await sql(`UPDATE st_src SET v = 2`);
    // Hold the refresher on the history table (its writes wait on this SHARE lock) while the
    // stop arrives: nothing is executing then, so pg_cancel_backend has nothing to cancel.
    const blocker = new pg.Client({ connectionString: db.get().url });
    await blocker.connect();
    const stop = new AbortController();
    let run: Promise<unknown> | undefined;
    try {
      await blocker.query('BEGIN');
      await blocker.query('LOCK TABLE dbopt.refresh_history IN SHARE MODE');
      run = refreshViews({ target: db.get().target, settings: s, views: ['st_view'], signal: stop.signal });
      await waitFor('the refresher to wait on the history table', async () => {
        const { rows } = await sql(`
          SELECT 1
            FROM pg_stat_activity
           WHERE datname = current_database()
             AND wait_event_type = 'Lock'
             AND query LIKE '%dbopt.refresh_history%'`);
        return rows.length > 0 ? true : undefined;
      });
      stop.abort();
      await blocker.query('COMMIT');
    } finally {
      await blocker.end();
    }
    await expect(run).rejects.toMatchObject({ name: 'InterruptedError' });
    expect((await sql('SELECT v FROM st_view')).rows).toEqual([{ v: 1 }]);
    const { rows } = await sql(
      `SELECT outcome, finished_at IS NOT NULL AS finished FROM dbopt.refresh_history WHERE view_name = 'public.st_view' ORDER BY id`,
    );
    expect(rows).toEqual([
      { outcome: 'ok', finished: true },
      { outcome: 'cancelled', finished: true },
    ]);
  });

  it("records a failure while still holding the view's advisory lock", async () => {
    await sql(`CREATE TABLE lk_src (d int NOT NULL)`);
    await sql(`INSERT INTO lk_src VALUES (0)`);
    await sql(`CREATE MATERIALIZED VIEW lk_fail AS SELECT 1 / d AS q FROM lk_src WITH NO DATA`);
    const s = settings(['public.lk_fail']);
    await refreshViews({ target: db.get().target, settings: s, views: ['lk_fail'] }); // creates the history table
    // Once the lock is released another refresher may row-lock this attempt's row (marking it
    // interrupted) for its whole refresh, and recording the failure would wait on it.
    await sql(`CREATE TABLE lk_probe (lock_held boolean NOT NULL)`);
    await sql(`
      CREATE FUNCTION lk_probe_fn() RETURNS trigger LANGUAGE plpgsql AS $$
      DECLARE k bigint := hashtextextended('dbopt.refresh:' || NEW.view_name, 0);
      BEGIN
        IF NEW.view_name = 'public.lk_fail' AND NEW.outcome = 'failed' THEN
          INSERT INTO public.lk_probe
          SELECT EXISTS (
            SELECT 1
              FROM pg_locks
             WHERE locktype = 'advisory'
               AND granted
               AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
               AND classid = ((k >> 32) & 4294967295)::oid
               AND objid = (k & 4294967295)::oid
               AND objsubid = 1);
        END IF;
        RETURN NEW;
      END $$`);
    await sql(
      `CREATE TRIGGER lk_probe BEFORE UPDATE ON dbopt.refresh_history FOR EACH ROW EXECUTE FUNCTION public.lk_probe_fn()`,
    );
    try {
      const r = await refreshViews({ target: db.get().target, settings: s, views: ['lk_fail'] });
      expect(r.views[0]).toMatchObject({ outcome: 'failed' });
      expect((await sql('SELECT lock_held FROM lk_probe')).rows).toEqual([{ lock_held: true }]);
    } finally {
      await sql('DROP TRIGGER lk_probe ON dbopt.refresh_history');
    }
  });
});
