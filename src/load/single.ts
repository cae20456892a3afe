// The single-client timing of dbopt audit, on the load phase's client path: one postgres.js
// connection opened read-only and time-bounded from its startup packet, a prepared statement
// (custom plans forced, so the plan timed is the plan EXPLAIN shows), and process.hrtime
// around each execution, with nothing else on the wire between runs (no BEGIN/SET/ROLLBACK
// round trips per query). What makes the load figures precise makes these precise.
import type { ConnectionTarget } from '../db/connection.js';
import { loadConnection, type LoadSql, type SessionLimits } from './connections.js';
import type { ParamValue } from './engine.js';

export interface SingleClient {
  /** Warm-up runs, then `runs` timed executions; the timings in ms. */
  time(
    text: string,
    params: ParamValue[][],
    placeholders: number,
    runs: number,
    warmup: number,
    signal?: AbortSignal,
  ): Promise<number[]>;
  /** statement_timeout of the session from now on (one round trip per query, not per run). */
  setStatementTimeout(ms: number): Promise<void>;
  end(): Promise<void>;
  /** Set when the server (a pooler) refused this session's startup parameters: not used again. */
  refused?: boolean;
}

/** A connection for timed runs; opened on first use, read-only, named like the audit's. */
export function singleClient(target: ConnectionTarget, limits: SessionLimits): SingleClient {
  const sql: LoadSql = loadConnection(target, limits, String(target.config.application_name ?? 'dbopt'), {
    plan_cache_mode: 'force_custom_plan',
  });
  return {
    time: (text, params, placeholders, runs, warmup, signal) =>
      asPgError(timeRuns(sql, text, params, placeholders, runs, warmup, signal)),
    setStatementTimeout: (ms) =>
      asPgError(
        sql
          .unsafe(`SELECT set_config('statement_timeout', $1, false)`, [`${Math.max(1, Math.round(ms))}ms`])
          .then(() => undefined),
      ),
    end: () => sql.end({ timeout: 1 }),
  };
}

/**
 * postgres.js names a dropped connection CONNECTION_CLOSED / _ENDED / _DESTROYED; give it the
 * SQLSTATE of a connection failure (08006) so the audit reports it like any lost connection.
 */
async function asPgError<T>(p: Promise<T>): Promise<T> {
  try {
    return await p;
  } catch (err) {
    const code = (err as { code?: unknown })?.code;
    if (typeof code === 'string' && /^CONNECT/.test(code))
      throw Object.assign(err as Error, { code: '08006', driverCode: code });
    throw err;
  }
}

async function timeRuns(
  sql: LoadSql,
  text: string,
  params: ParamValue[][],
  placeholders: number,
  runs: number,
  warmup: number,
  signal?: AbortSignal,
): Promise<number[]> {
  let next = 0;
  const values = (): never[] =>
    (params.length ? params[next++ % params.length]!.slice(0, placeholders) : []) as never[];
  for (let i = 0; i < warmup; i++) {
    throwIfAborted(signal);
    await sql.unsafe(text, values(), { prepare: true });
  }
  const timings: number[] = [];
  for (let i = 0; i < runs; i++) {
    throwIfAborted(signal);
    const v = values();
    const start = process.hrtime.bigint();
    await sql.unsafe(text, v, { prepare: true }).raw();
    timings.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  return timings;
}

function throwIfAborted(signal?: AbortSignal): void {
  if (signal?.aborted) throw signal.reason instanceof Error ? signal.reason : new Error('aborted');
}
