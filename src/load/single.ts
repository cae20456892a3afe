// The single-client timing of dbopt audit, on the load phase's client (src/load/wire.ts): one
// connection opened read-only and time-bounded from its startup packet, a named prepared
// statement (custom plans forced, so the plan timed is the plan EXPLAIN shows), and
// process.hrtime from the write of each execution to its ReadyForQuery, with nothing else on
// the wire between runs (no BEGIN/SET/ROLLBACK round trips per query). One measuring engine
// for both phases: what makes the load figures precise makes these precise.
// The connection's watchdog bounds every run: no byte from the server for statement_timeout
// plus a margin (src/db/deadline.ts) fails the run with 08006 (exit 3), never a hang.
import type { ConnectionTarget } from '../db/connection.js';
import { deadlineFor } from '../db/deadline.js';
import { loadConnection, type SessionLimits } from './connections.js';
import type { ParamValue } from './engine.js';
import type { WireConnection, WireError, WireParam } from './wire.js';

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
  let opened: Promise<WireConnection> | undefined;
  let ended = false;
  const wire = (): Promise<WireConnection> => {
    if (ended) return Promise.reject(Object.assign(new Error('the timing connection was closed'), { code: '08003' }));
    opened ??= loadConnection(target, limits, {
      applicationName: String(target.config.application_name ?? 'dbopt'),
      settings: { plan_cache_mode: 'force_custom_plan' },
    });
    // A failed connect is not kept: the next query tries again (or falls back, on 08P01).
    opened.catch(() => (opened = undefined));
    return opened;
  };
  return {
    time: async (text, params, placeholders, runs, warmup, signal) =>
      timeRuns(await wire(), text, params, placeholders, runs, warmup, signal),
    setStatementTimeout: async (ms) => {
      const c = await wire();
      const timeout = Math.max(1, Math.round(ms));
      await run(c, `SELECT set_config('statement_timeout', $1, false)`, [`${timeout}ms`]);
      c.statementTimeoutMs = timeout;
      c.silenceLimitMs = deadlineFor(timeout);
    },
    end: async () => {
      ended = true;
      const c = await opened?.catch(() => undefined);
      await c?.end();
    },
  };
}

function run(c: WireConnection, text: string, values: readonly WireParam[]): Promise<void> {
  return new Promise((resolve, reject) => {
    c.query(text, values, (err) => (err ? reject(err) : resolve()));
    c.flush();
  });
}

async function timeRuns(
  c: WireConnection,
  text: string,
  params: ParamValue[][],
  placeholders: number,
  runs: number,
  warmup: number,
  signal?: AbortSignal,
): Promise<number[]> {
  let next = 0;
  const values = (): ParamValue[] => (params.length ? params[next++ % params.length]!.slice(0, placeholders) : []);
  for (let i = 0; i < warmup; i++) {
    throwIfAborted(signal);
    await run(c, text, values());
  }
  const timings: number[] = [];
  for (let i = 0; i < runs; i++) {
    throwIfAborted(signal);
    const v = values();
    timings.push(
      await new Promise<number>((resolve, reject) => {
        const start = process.hrtime.bigint();
        c.query(text, v, (err: WireError | undefined) => {
          const end = process.hrtime.bigint();
          if (err) reject(err);
          else resolve(Number(end - start) / 1e6);
        });
        c.flush();
      }),
    );
  }
  return timings;
}

function throwIfAborted(signal?: AbortSignal): void {
  if (signal?.aborted) throw signal.reason instanceof Error ? signal.reason : new Error('aborted');
}
