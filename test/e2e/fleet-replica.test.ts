// dbopt against a real streaming standby of the test server (test/helpers/replica.ts):
// audit --node all reports both nodes and the lag; paused replay fires replica-lag-high;
// migrate, refresh-views and seed against the standby exit 2 naming it; the cold tier evicts
// on the standby too.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { createTestDatabase, serverMajor, type TestDatabase } from '../helpers/postgres.js';
import { fleetPlan, startPrimaryWithReplica, type TestFleet, type TestReplica } from '../helpers/replica.js';
import { runCli } from '../helpers/cli.js';

const HOT =
  '-- name: item_by_code\n-- tier: hot\n-- params: [[17], [4242]]\n-- expect: index items_code_idx\nSELECT id, note FROM items WHERE code = $1;\n';
const COLD =
  "-- name: item_notes\n-- tier: cold\n-- budget: 2s\nSELECT count(*) FROM items WHERE note LIKE 'note 1%';\n";

// Against the system PostgreSQL 15 (DBOPT_TEST_DATABASE_URL) the standby is its pg_basebackup copy.
const plan = await fleetPlan(inject('pgAdminUrl'), inject('pgBackend'));

describe(`a streaming replica (${plan.label})`, () => {
  let fleet: TestFleet;
  let db: TestDatabase;
  let replica: TestReplica;
  let cwd: string;
  let major: number;
  const config = (extra: Record<string, unknown> = {}): void => {
    writeFileSync(
      path.join(cwd, 'dbopt.config.json'),
      JSON.stringify({
        database: { replicas: [{ name: 'replica-1', url: replica.url(db.name) }] },
        audit: { queries: 'queries', baseline: 'queries/baseline.json', runs: 3, warmup: 1 },
        ...extra,
      }),
    );
  };
  beforeAll(async () => {
    cwd = mkdtempSync(path.join(tmpdir(), 'dbopt-e2e-replica-'));
    mkdirSync(path.join(cwd, 'queries'));
    mkdirSync(path.join(cwd, 'migrations'));
    writeFileSync(path.join(cwd, 'queries', 'item_by_code.sql'), HOT);
    writeFileSync(path.join(cwd, 'queries', 'item_notes.sql'), COLD);
    writeFileSync(path.join(cwd, 'migrations', '0001_t.sql'), '-- Up Migration\nCREATE TABLE t (id int);\n');
    fleet = await startPrimaryWithReplica('dbopt_e2e_replica', plan);
    replica = fleet.replica;
    db = await createTestDatabase(fleet.primaryUrl, 'dbopt_e2e_repl');
    major = await serverMajor(db.client);
    await db.client.query(
      `CREATE TABLE items (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, code int NOT NULL, note text NOT NULL)`,
    );
    await db.client.query(`INSERT INTO items (code, note) SELECT i, 'note ' || i FROM generate_series(1, 20000) AS i`);
    await db.client.query('CREATE INDEX items_code_idx ON items (code)');
    await db.client.query('CREATE EXTENSION IF NOT EXISTS pg_buffercache');
    await db.client.query('VACUUM ANALYZE items');
    await replica.catchUp();
    config();
  });
  afterAll(async () => {
    await db?.drop();
    await fleet?.stop();
    if (cwd) rmSync(cwd, { recursive: true, force: true });
  });

  it('audit --node all reports both nodes side by side and the replication lag', async () => {
    const r = await runCli(['audit', '--node', 'all', '--format', 'json'], { cwd, env: { DATABASE_URL: db.url } });
    expect([0, 1], r.stderr).toContain(r.code);
    const out = JSON.parse(r.stdout) as {
      result: {
        nodes: {
          name: string;
          result: {
            server: string;
            queries: { name: string; latency?: { p95: number }; plan?: { shape: string }; cold?: { mode: string } }[];
          };
        }[];
        replication: {
          nodes: { node: string; inRecovery: boolean; replayBytes: number | null; state: string }[];
          standbys: { applicationName: string }[];
        };
      };
    };
    expect(out.result.nodes.map((n) => n.name)).toEqual(['primary', 'replica-1']);
    expect(out.result.nodes[1]!.result.server).toContain(`:${replica.port}/`);
    for (const n of out.result.nodes) {
      expect(n.result.queries.map((q) => q.name).sort()).toEqual(['item_by_code', 'item_notes']);
      expect(n.result.queries.every((q) => q.latency && q.latency.p95 > 0 && q.plan)).toBe(true);
      // The cold tier evicts shared buffers on the standby as on the primary (17+: before that
      // pg_buffercache has no eviction, on either node).
      expect(n.result.queries.find((q) => q.name === 'item_notes')!.cold!.mode).toBe(
        major >= 17 ? 'evicted' : 'unsupported',
      );
    }
    const lag = out.result.replication.nodes[0]!;
    expect(lag).toMatchObject({ node: 'replica-1', inRecovery: true });
    expect(typeof lag.replayBytes).toBe('number');
    expect(['caught-up', 'behind']).toContain(lag.state);
    expect(out.result.replication.standbys.map((s) => s.applicationName)).toContain('dbopt_e2e_replica');

    const table = await runCli(['audit', '--node', 'all'], { cwd, env: { DATABASE_URL: db.url, COLUMNS: '200' } });
    expect(table.stdout).toContain('Queries by node');
    expect(table.stdout).toContain('replica-1 p95');
    expect(table.stdout).toContain('Replication');
  });

  it('paused replay behind the primary fires replica-lag-high', async () => {
    const standby = new pg.Client({ connectionString: replica.url(db.name) });
    await standby.connect();
    try {
      // A commit the standby replays first, so it knows when it last replayed one.
      await db.client.query(`INSERT INTO items (code, note) VALUES (-2, 'before the pause')`);
      await replica.catchUp();
      await standby.query('SELECT pg_wal_replay_pause()');
      await db.client.query(`INSERT INTO items (code, note) VALUES (-1, 'after the pause')`);
      config({ fleet: { maxReplicaLag: '1ms' } });
      const r = await runCli(['audit', '--node', 'replica-1', '--format', 'json'], {
        cwd,
        env: { DATABASE_URL: db.url },
      });
      expect(r.code, r.stderr).toBe(1);
      const out = JSON.parse(r.stdout) as { checks: { id: string; status: string; message: string }[] };
      const check = out.checks.find((c) => c.id === 'replica-1/replica-lag-high')!;
      expect(check.status).toBe('fail');
      expect(check.message).toMatch(
        /replica-1 lags [\d.]+ s behind the primary \([\d,]+ bytes behind.*replay is paused/,
      );
    } finally {
      await standby.query('SELECT pg_wal_replay_resume()').catch(() => undefined);
      await standby.end();
      config();
    }
  });

  it('migrate, refresh-views and seed against the standby exit 2 naming it and directUrl', async () => {
    for (const args of [['migrate'], ['refresh-views'], ['refresh-views', '--status'], ['seed']]) {
      const r = await runCli(args, { cwd, env: { DATABASE_URL: db.url, DATABASE_DIRECT_URL: replica.url(db.name) } });
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toContain(
        `node replica-1 (postgres@127.0.0.1:${replica.port}/${db.name}) (from DATABASE_DIRECT_URL) is a standby in recovery`,
      );
      expect(r.stderr).toContain('directUrl');
    }
    const direct = await runCli(['migrate', '--direct-url', replica.url(db.name)], {
      cwd,
      env: { DATABASE_URL: db.url },
    });
    expect(direct.code).toBe(2);
    expect(direct.stderr).toContain('(from --direct-url) is a standby in recovery');
  });
  it('a refresh on the primary becomes visible on the replica, and --status shows how stale it is there', async () => {
    await db.client.query(
      'CREATE MATERIALIZED VIEW code_buckets AS SELECT code % 10 AS bucket, count(*) AS n FROM items GROUP BY 1 WITH NO DATA',
    );
    await db.client.query('CREATE UNIQUE INDEX code_buckets_bucket ON code_buckets (bucket)');
    const r = await runCli(['refresh-views', '--all'], { cwd, env: { DATABASE_URL: db.url } });
    expect(r.code, r.stderr).toBe(0);
    await replica.catchUp();
    const standby = new pg.Client({ connectionString: replica.url(db.name) });
    await standby.connect();
    try {
      const seen = await standby.query<{ n: string }>('SELECT sum(n)::text AS n FROM code_buckets');
      const truth = await db.client.query<{ n: string }>('SELECT count(*)::text AS n FROM items');
      expect(seen.rows[0]!.n).toBe(truth.rows[0]!.n);
    } finally {
      await standby.end();
    }
    const s = await runCli(['refresh-views', '--status', '--format', 'json'], { cwd, env: { DATABASE_URL: db.url } });
    expect(s.code, s.stderr).toBe(0);
    const out = JSON.parse(s.stdout) as {
      result: {
        views: { view: string; lastSuccess?: string }[];
        replicas: {
          views: { replica: string; view: string; lastSuccess?: string; stalenessMs?: number; lagMs: number | null }[];
        };
      };
    };
    const primaryView = out.result.views.find((v) => v.view === 'public.code_buckets')!;
    const onReplica = out.result.replicas.views.find(
      (v) => v.view === 'public.code_buckets' && v.replica === 'replica-1',
    )!;
    expect(onReplica.lastSuccess).toBe(primaryView.lastSuccess);
    expect(typeof onReplica.stalenessMs).toBe('number');
    const table = await runCli(['refresh-views', '--status'], { cwd, env: { DATABASE_URL: db.url, COLUMNS: '200' } });
    expect(table.stdout).toContain('On replicas');
    expect(table.stdout).toMatch(/replica-1\s.*public\.code_buckets/);
  });
  it("report --node all shows each node's figures side by side and the replication lag", async () => {
    const r = await runCli(['report', '--node', 'all', '--format', 'json'], { cwd, env: { DATABASE_URL: db.url } });
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as {
      title: string;
      result: { nodes: { name: string }[]; replication: { nodes: { node: string; inRecovery: boolean }[] } };
    };
    expect(out.result.nodes.map((n) => n.name)).toEqual(['primary', 'replica-1']);
    expect(out.result.replication.nodes).toMatchObject([{ node: 'replica-1', inRecovery: true }]);
    const table = await runCli(['report', '--node', 'all'], { cwd, env: { DATABASE_URL: db.url, COLUMNS: '200' } });
    expect(table.stdout).toContain('primary: Cache hit ratios');
    expect(table.stdout).toContain('replica-1: Cache hit ratios');
  });
});
