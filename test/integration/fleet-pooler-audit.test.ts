// The reference audit and report through a real PgBouncer in transaction mode give the same
// verdicts and figures as connected directly: nothing in them relies on session state between
// transactions (a pool of two server connections shared with a busy second client moves them
// between connections, and PgBouncer discards all session state after every transaction:
// test/helpers/pgbouncer.ts).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import path from 'node:path';
import pg from 'pg';
import { withWorkloadDatabase } from '../helpers/workload.js';
import { pgbouncerAvailable, startPgBouncer, type TestPgBouncer } from '../helpers/pgbouncer.js';
import { REPO_ROOT } from '../helpers/cli.js';
import { resolveConfig } from '../../src/config.js';
import { targetFromUrl } from '../../src/db/connection.js';
import { audit, type AuditResult } from '../../src/audit/index.js';
import { health, type HealthResult } from '../../src/health/index.js';

const db = withWorkloadDatabase();
const config = resolveConfig({}, { rootDir: REPO_ROOT, env: {}, overrides: {} });
// Timing verdicts depend on the machine's noise, not on the path: compared apart.
const TIMING = new Set(['over-budget', 'cache-hit-low']);

/**
 * `work` while a second client through the pooler keeps taking server connections between its
 * transactions, so they do not all run on one server connection; the server pids it saw.
 */
async function withNoise<T>(pooledUrl: string, work: () => Promise<T>): Promise<{ value: T; pids: Set<number> }> {
  const noise = new pg.Client({ connectionString: pooledUrl });
  await noise.connect();
  let stop = false;
  const pids = new Set<number>();
  const loop = (async () => {
    while (!stop)
      pids.add((await noise.query<{ pid: number }>('SELECT pg_backend_pid() AS pid, pg_sleep(0.005)')).rows[0]!.pid);
  })();
  try {
    return { value: await work(), pids };
  } finally {
    stop = true;
    await loop;
    await noise.end();
  }
}

describe.skipIf(!pgbouncerAvailable())('the reference audit and report through PgBouncer (transaction mode)', () => {
  let bouncer: TestPgBouncer;
  beforeAll(async () => {
    const c = db.get().client;
    for (const view of [
      'analytics.daily_bot_activity',
      'analytics.user_engagement',
      'analytics.bot_engagement_summary',
    ]) {
      await c.query(`REFRESH MATERIALIZED VIEW ${view}`);
    }
    await c.query('VACUUM ANALYZE');
    bouncer = await startPgBouncer(db.get().url, { poolSize: 2 });
  });
  afterAll(async () => {
    await bouncer?.stop();
  });

  it('same verdicts as direct, no query error', async () => {
    const run = (url: string): Promise<AuditResult> =>
      audit({
        target: targetFromUrl(url, 'test'),
        audit: { ...config.audit, runs: 5, warmup: 1 },
        refresh: config.refresh,
        queriesDir: path.join(REPO_ROOT, 'queries'),
        baselineFile: path.join(REPO_ROOT, 'queries', 'baseline.json'),
      });
    const direct = await run(db.get().url);
    const { value: pooled, pids } = await withNoise(bouncer.pooled(db.get().url), () =>
      run(bouncer.pooled(db.get().url)),
    );
    expect(pids.size).toBeGreaterThan(0);
    // generic-plan-differs judges a prepared statement's cached generic plan: direct runs time
    // one, pooled runs (unnamed statements, planned each time) have none to judge.
    const verdicts = (r: AuditResult) =>
      r.findings
        .filter((f) => !TIMING.has(f.code) && f.code !== 'generic-plan-differs')
        .map((f) => `${f.id} ${f.status}`)
        .sort();
    expect(pooled.queries.map((q) => [q.name, q.status])).toEqual(direct.queries.map((q) => [q.name, q.status]));
    expect(pooled.queries.every((q) => q.status === 'measured')).toBe(true);
    expect(verdicts(pooled)).toEqual(verdicts(direct));
    expect(pooled.findings.filter((f) => f.code === 'generic-plan-differs')).toEqual([]);
    expect(pooled.queries.every((q) => q.timedPlan?.plan === 'custom')).toBe(true);
    expect(pooled.queries.map((q) => q.plan?.fingerprint)).toEqual(direct.queries.map((q) => q.plan?.fingerprint));
  });

  it('report: the same figures as direct', async () => {
    const run = (url: string): Promise<HealthResult> =>
      health({ target: targetFromUrl(url, 'test'), audit: config.audit, refresh: config.refresh });
    const direct = await run(db.get().url);
    const { value: pooled } = await withNoise(bouncer.pooled(db.get().url), () => run(bouncer.pooled(db.get().url)));
    // What does not move between two reads a moment apart; scan counts and ratios do.
    const stable = (r: HealthResult) => ({
      serverVersion: r.serverVersion,
      cache: r.cache.map((c) => Object.keys(c).sort()),
      indexes: r.indexes.map((i) => [i.index, i.table, i.unique, i.valid, i.notes]),
      foreignKeysWithoutIndex: r.foreignKeysWithoutIndex,
      tables: r.tables.map((t) => t.table),
      views: r.views.map((v) => [v.view, v.populated, v.schedule, v.lastSuccess]),
      refreshHistory: r.refreshHistory,
      locked: r.locked,
      statements: r.statements.available,
    });
    expect(pooled.server).not.toBe(direct.server);
    expect(stable(pooled)).toEqual(stable(direct));
    expect(pooled.tables.length).toBeGreaterThan(0);
  });
});
