// The fleet harness itself: a real streaming standby of the run's server, and a real PgBouncer
// in transaction mode in front of it.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import pg from 'pg';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.js';
import { pgbouncerAvailable, startPgBouncer, type TestPgBouncer } from '../helpers/pgbouncer.js';
import { fleetPlan, startPrimaryWithReplica, type TestFleet } from '../helpers/replica.js';

const adminUrl = inject('pgAdminUrl');
// Against the system PostgreSQL 15 (DBOPT_TEST_DATABASE_URL) the standby is its pg_basebackup copy.
const plan = await fleetPlan(adminUrl, inject('pgBackend'));

describe(`streaming replica (${plan.label})`, () => {
  let fleet: TestFleet;
  let replica: TestFleet['replica'];
  let db: TestDatabase;
  beforeAll(async () => {
    fleet = await startPrimaryWithReplica(undefined, plan);
    replica = fleet.replica;
    db = await createTestDatabase(fleet.primaryUrl, 'dbopt_fleet_h');
  });
  afterAll(async () => {
    await db?.drop();
    await fleet?.stop();
  });

  it('replays what the primary writes and refuses writes itself', async () => {
    await db.client.query('CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t VALUES (1), (2)');
    await replica.catchUp();
    const c = new pg.Client({ connectionString: replica.url(db.name) });
    await c.connect();
    try {
      const { rows } = await c.query<{ n: string; r: boolean }>(
        'SELECT count(*) AS n, pg_is_in_recovery() AS r FROM t',
      );
      expect(rows[0]).toEqual({ n: '2', r: true });
      await expect(c.query('INSERT INTO t VALUES (3)')).rejects.toThrow(/read-only transaction/);
    } finally {
      await c.end();
    }
  });
});

describe.skipIf(!pgbouncerAvailable())('PgBouncer in transaction mode', () => {
  let bouncer: TestPgBouncer;
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase(adminUrl, 'dbopt_fleet_hb');
    bouncer = await startPgBouncer(db.url, { poolSize: 1 });
  });
  afterAll(async () => {
    await bouncer?.stop();
    await db?.drop();
  });

  it('hands one server connection to two clients between their transactions', async () => {
    const a = new pg.Client({ connectionString: bouncer.pooled(db.url) });
    const b = new pg.Client({ connectionString: bouncer.pooled(db.url) });
    await a.connect();
    await b.connect();
    try {
      const pa = (await a.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
      const pb = (await b.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
      expect(pb).toBe(pa);
    } finally {
      await a.end();
      await b.end();
    }
  });

  it("keeps no session state between one client's transactions (what reliance on it would meet)", async () => {
    const a = new pg.Client({ connectionString: bouncer.pooled(db.url) });
    await a.connect();
    try {
      await a.query({ name: 'dbopt_harness_ps', text: 'SELECT 1 AS one' });
      // node-pg remembers it parsed the statement and sends only Bind/Execute: the server has
      // forgotten it since the transaction ended.
      await expect(a.query({ name: 'dbopt_harness_ps', text: 'SELECT 1 AS one' })).rejects.toThrow(
        /prepared statement "dbopt_harness_ps" does not exist/,
      );
      await a.query(`SET statement_timeout = '1234ms'`);
      expect((await a.query<{ statement_timeout: string }>('SHOW statement_timeout')).rows[0]!.statement_timeout).toBe(
        '0',
      );
      await a.query(`SELECT pg_advisory_lock(42)`);
      const { rows } = await a.query(`SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND objid = 42`);
      expect(rows).toEqual([]);
    } finally {
      await a.end();
    }
  });
});
