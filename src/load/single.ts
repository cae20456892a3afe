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
  time(text: string, params: ParamValue[][], placeholders: number, runs: number, warmup: number, signal?: AbortSignal): Promise<number[]>;
  end(): Promise<void>;
}

/** A connection for timed runs; opened on first use, read-only, named like the audit's. */
export function singleClient(target: ConnectionTarget, limits: SessionLimits): SingleClient {
  const sql: LoadSql = loadConnection(target, limits, String(target.config.application_name ?? 'dbopt'), { plan_cache_mode: 'force_custom_plan' });
  return {
    async time(text, params, placeholders, runs, warmup, signal) {
      let next = 0;
      const values = (): never[] => (params.length ? params[next++ % params.length]!.slice(0, placeholders) : []) as never[];
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
    },
    end: () => sql.end({ timeout: 1 }),
  };
}

function throwIfAborted(signal?: AbortSignal): void {
  if (signal?.aborted) throw signal.reason instanceof Error ? signal.reason : new Error('aborted');
}
