// One migrator at a time: a session-level advisory lock held by the build connection itself,
// taken by polling pg_try_advisory_lock. Holding it does not hold up the session's own CREATE
// INDEX CONCURRENTLY: a build waits for other sessions' transactions, and a session-level lock
// belongs to no transaction (node-pg-migrate locks the same way). Never pg_advisory_lock: a
// migrator blocked in it sits in a transaction that CREATE INDEX CONCURRENTLY of the holder
// must wait out, and the two wait on each other.
import type { Client } from 'pg';
import { BusyError } from '../errors.js';
import type { Logger } from '../logger.js';
import { sleep } from './wait.js';

/** 'dbop' as int4, then 1: shown in pg_locks as classid 1684172656, objid 1, objsubid 1. */
export const MIGRATE_LOCK_CLASSID = 1684172656;
export const MIGRATE_LOCK_OBJID = 1;
export const MIGRATE_LOCK_KEY = ((BigInt(MIGRATE_LOCK_CLASSID) << 32n) | BigInt(MIGRATE_LOCK_OBJID)).toString();
const POLL_MS = 250;

/** One try, as an expression: the key is dbopt's own constant, so it can go in a multi-statement query. */
export const TRY_MIGRATE_LOCK_SQL = `pg_try_advisory_lock(${MIGRATE_LOCK_KEY}::bigint)`;

/** Whether this session holds the lock already, as an expression (a second try would take it twice). */
export const HOLDS_MIGRATE_LOCK_SQL = `EXISTS (SELECT 1
                   FROM pg_locks
                  WHERE locktype = 'advisory'
                    AND pid = pg_backend_pid()
                    AND granted
                    AND classid = ${MIGRATE_LOCK_CLASSID}
                    AND objid = ${MIGRATE_LOCK_OBJID}
                    AND objsubid = 1
                    AND database = (SELECT oid FROM pg_database WHERE datname = current_database()))`;

export interface LockHolder {
  pid: number;
  applicationName: string;
  clientAddr: string | null;
  since: Date | null;
}

export async function migrateLockHolder(client: Client): Promise<LockHolder | undefined> {
  const { rows } = await client.query<{
    pid: number;
    application_name: string;
    client_addr: string | null;
    backend_start: Date | null;
  }>(
    `SELECT a.pid,
            a.application_name,
            host(a.client_addr) AS client_addr,
            a.backend_start
       FROM pg_locks AS l
       JOIN pg_stat_activity AS a ON a.pid = l.pid
      WHERE l.locktype = 'advisory'
        AND l.granted
        AND l.classid = $1
        AND l.objid = $2
        AND l.objsubid = 1
        AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
      LIMIT 1`,
    [MIGRATE_LOCK_CLASSID, MIGRATE_LOCK_OBJID],
  );
  const r = rows[0];
  return r
    ? { pid: r.pid, applicationName: r.application_name, clientAddr: r.client_addr, since: r.backend_start }
    : undefined;
}

export function describeHolder(h: LockHolder | undefined): string {
  if (!h) return 'another session (it released the lock just now)';
  return `pid ${h.pid} (application_name "${h.applicationName}"${h.clientAddr ? `, from ${h.clientAddr}` : ''})${h.since ? ` since ${h.since.toISOString()}` : ''}`;
}

/**
 * Poll pg_try_advisory_lock every 250 ms for up to `waitMs`; the loser gets BusyError (exit 4).
 * `firstTry` is the answer of a try the caller already made (folded into its own query).
 */
export async function acquireMigrateLock(
  client: Client,
  opts: { waitMs: number; signal?: AbortSignal; logger?: Logger; database: string; firstTry?: boolean },
): Promise<void> {
  const deadline = Date.now() + opts.waitMs;
  let announced = false;
  let lastChance = false;
  for (let tried = opts.firstTry; ; tried = undefined) {
    const ok =
      tried ?? (await client.query<{ ok: boolean }>(`SELECT ${TRY_MIGRATE_LOCK_SQL} AS ok`)).rows[0]?.ok === true;
    if (ok) return;
    if (!announced) {
      opts.logger?.info(
        `Another migrator holds the migrate lock on ${opts.database}: ${describeHolder(await migrateLockHolder(client))}; waiting up to ${Math.round(opts.waitMs / 1000)}s ...`,
      );
      announced = true;
    }
    if (Date.now() >= deadline) {
      const holder = await migrateLockHolder(client);
      // Given back between the last try and this look: one more try, not a refusal naming nobody.
      if (!holder && !lastChance) {
        lastChance = true;
        continue;
      }
      throw new BusyError(
        `another dbopt migrate is running on ${opts.database}: the migrate lock is held by ${describeHolder(holder)}`,
        {
          hint: 'Let it finish and run dbopt migrate again (it will find nothing pending), or raise migrate.lockWait.',
        },
      );
    }
    await sleep(Math.min(POLL_MS, Math.max(0, deadline - Date.now())), opts.signal);
  }
}

/** True when the lock was held here and is released now. */
export async function releaseMigrateLock(client: Client): Promise<boolean> {
  const { rows } = await client.query<{ ok: boolean }>('SELECT pg_advisory_unlock($1::bigint) AS ok', [
    MIGRATE_LOCK_KEY,
  ]);
  return rows[0]?.ok === true;
}
