// dbopt.refresh_history: PostgreSQL records no refresh times, so every attempt is written
// here. A 'running' row is committed before the REFRESH starts (a killed refresher leaves
// an unfinished attempt, finished_at NULL, in plain sight); success is recorded inside the
// refresh's own transaction so the new rows and the record of them commit together.
import type { ClientBase, Pool } from 'pg';
import { DbOptError, ExitCode } from '../errors.js';
import type { RefreshMode } from './catalog.js';

export const HISTORY_TABLE = 'dbopt.refresh_history';

export type HistoryOutcome = 'running' | 'ok' | 'failed' | 'cancelled' | 'interrupted';

export interface ViewHistory {
  /** started_at of the latest successful refresh (the data is as of then). */
  lastSuccess?: Date;
  lastDurationMs?: number;
  /** Attempts that never finished (refresher killed or cut off). */
  unfinished: number;
  lastOutcome?: HistoryOutcome;
  lastError?: string;
  /** Attempts that failed since the latest success (or ever, with none): drives the retry backoff. */
  failuresSinceSuccess: number;
  /** When the latest of those failures ended (its start, if it never recorded an end). */
  lastFailure?: Date;
}

export async function historyExists(client: ClientBase | Pool): Promise<boolean> {
  const { rows } = await client.query<{ t: string | null }>(`SELECT to_regclass('dbopt.refresh_history')::text AS t`);
  return rows[0]?.t != null;
}

// Attempts that never finished, per view: what readHistory counts and markInterrupted updates
// on every refresh. Without it both read every attempt the view ever made (the view's whole
// history), so a watcher slows down as its history grows: 20 ms per query at 200k rows.
const UNFINISHED_INDEX = `
      CREATE INDEX IF NOT EXISTS refresh_history_unfinished
          ON dbopt.refresh_history (view_name)
       WHERE finished_at IS NULL`;

/** Create the history table once; concurrent refreshers serialise on an advisory lock. */
export async function ensureHistory(client: ClientBase, display: string): Promise<void> {
  if (await historyExists(client)) return addUnfinishedIndex(client);
  try {
    await client.query('BEGIN');
    // CREATE ... IF NOT EXISTS can still collide on pg_type when two sessions race.
    await client.query(`SELECT pg_advisory_xact_lock(hashtext('dbopt.refresh_history'))`);
    await client.query('CREATE SCHEMA IF NOT EXISTS dbopt');
    await client.query(`
      CREATE TABLE IF NOT EXISTS dbopt.refresh_history (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        view_name text NOT NULL,
        started_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        finished_at timestamptz,
        duration_ms double precision,
        mode text NOT NULL,
        outcome text NOT NULL DEFAULT 'running',
        error text,
        pid integer
      )`);
    await client.query(`
      CREATE INDEX IF NOT EXISTS refresh_history_view_started
          ON dbopt.refresh_history (view_name, started_at DESC)`);
    await client.query(UNFINISHED_INDEX);
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    const code = (err as { code?: string }).code;
    if (code === '42501') {
      throw new DbOptError(
        `cannot create ${HISTORY_TABLE} on ${display}: permission denied (${(err as Error).message})`,
        {
          exitCode: ExitCode.usage,
          details: [
            'dbopt records every refresh there, since PostgreSQL keeps no refresh times; without it no schedule can be judged.',
          ],
          hint: 'Run once as the database owner: CREATE SCHEMA dbopt AUTHORIZATION <this user>; (or GRANT CREATE ON DATABASE to this user).',
          cause: err,
        },
      );
    }
    throw err;
  }
}

/**
 * History tables created before the unfinished-attempts index existed get it here. Best
 * effort: a refresh in flight elsewhere holds ROW EXCLUSIVE on the table for its whole
 * transaction, and CREATE INDEX's SHARE lock would queue behind it while blocking every other
 * refresher's history writes; so give up after a short lock_timeout (or on any other error,
 * such as a table owned by another role) and try again on the next start.
 */
async function addUnfinishedIndex(client: ClientBase): Promise<void> {
  const { rows } = await client.query<{ present: boolean }>(
    `SELECT to_regclass('dbopt.refresh_history_unfinished') IS NOT NULL AS present`,
  );
  if (rows[0]?.present) return;
  try {
    await client.query('BEGIN');
    await client.query(`SELECT set_config('lock_timeout', '500ms', true)`);
    await client.query(UNFINISHED_INDEX);
    await client.query('COMMIT');
  } catch {
    await client.query('ROLLBACK').catch(() => undefined);
  }
}

/** Latest success, last duration and unfinished attempts per view; empty when no history exists yet. */
export async function readHistory(client: ClientBase | Pool, views: string[]): Promise<Map<string, ViewHistory>> {
  const out = new Map<string, ViewHistory>();
  if (views.length === 0 || !(await historyExists(client))) return out;
  const { rows } = await client.query<{
    view_name: string;
    last_success: Date | null;
    last_duration_ms: number | null;
    unfinished: string;
    last_outcome: HistoryOutcome | null;
    last_error: string | null;
    failures: string;
    last_failure: Date | null;
  }>(
    `
    SELECT v.view_name,
           ok.started_at AS last_success,
           ok.duration_ms AS last_duration_ms,
           (SELECT count(*)
              FROM dbopt.refresh_history AS u
             WHERE u.view_name = v.view_name
               AND u.finished_at IS NULL
               AND u.outcome IN ('running', 'interrupted')) AS unfinished,
           last.outcome AS last_outcome,
           last.error AS last_error,
           f.failures,
           f.last_failure
      FROM unnest($1::text[]) AS v(view_name)
      LEFT JOIN LATERAL (
        SELECT h.started_at, h.duration_ms
          FROM dbopt.refresh_history AS h
         WHERE h.view_name = v.view_name
           AND h.outcome = 'ok'
         ORDER BY h.started_at DESC
         LIMIT 1
      ) AS ok ON true
      LEFT JOIN LATERAL (
        SELECT h.outcome, h.error
          FROM dbopt.refresh_history AS h
         WHERE h.view_name = v.view_name
         ORDER BY h.started_at DESC
         LIMIT 1
      ) AS last ON true
      LEFT JOIN LATERAL (
        SELECT count(*) AS failures,
               max(coalesce(h.finished_at, h.started_at)) AS last_failure
          FROM dbopt.refresh_history AS h
         WHERE h.view_name = v.view_name
           AND h.outcome = 'failed'
           AND h.started_at > coalesce(ok.started_at, '-infinity')
      ) AS f ON true`,
    [views],
  );
  for (const r of rows) {
    out.set(r.view_name, {
      lastSuccess: r.last_success ?? undefined,
      lastDurationMs: r.last_duration_ms ?? undefined,
      unfinished: Number(r.unfinished),
      lastOutcome: r.last_outcome ?? undefined,
      lastError: r.last_error ?? undefined,
      failuresSinceSuccess: Number(r.failures),
      lastFailure: r.last_failure ?? undefined,
    });
  }
  return out;
}

/** Committed on its own (autocommit, another connection) before the refresh starts. */
export async function insertRunning(
  pool: Pool,
  view: string,
  mode: RefreshMode,
  pid: number,
): Promise<{ id: string; startedAt: Date }> {
  const { rows } = await pool.query<{ id: string; started_at: Date }>(
    `
    INSERT INTO dbopt.refresh_history (view_name, mode, outcome, pid)
    VALUES ($1, $2, 'running', $3)
    RETURNING id, started_at`,
    [view, mode, pid],
  );
  return { id: rows[0]!.id, startedAt: rows[0]!.started_at };
}

/**
 * Attempts of this view left 'running' by a refresher that is gone. Only called while holding
 * the view's advisory lock, so no live refresher can own such a row.
 */
export async function markInterrupted(client: ClientBase, view: string): Promise<void> {
  await client.query(
    `
    UPDATE dbopt.refresh_history
       SET outcome = 'interrupted',
           error = 'the refresher went away (killed, or its connection was cut) before the refresh finished; the view kept its previous rows'
     WHERE view_name = $1
       AND finished_at IS NULL
       AND outcome = 'running'`,
    [view],
  );
}

export async function finishAttempt(
  client: ClientBase | Pool,
  id: string,
  outcome: Exclude<HistoryOutcome, 'running'>,
  durationMs: number,
  error?: string,
): Promise<void> {
  await client.query(
    `
    UPDATE dbopt.refresh_history
       SET finished_at = clock_timestamp(),
           duration_ms = $2,
           outcome = $3,
           error = $4
     WHERE id = $1`,
    [id, durationMs, outcome, error ?? null],
  );
}
