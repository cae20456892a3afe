// The single-client timing of dbopt audit, on the load phase's client (src/audit/load/wire.ts): one
// connection opened read-only and time-bounded from its startup packet, a named prepared
// statement (custom plans forced, so the plan timed is the plan EXPLAIN shows), and
// process.hrtime from the write of each execution to its ReadyForQuery, with nothing else on
// the wire between runs (no BEGIN/SET/ROLLBACK round trips per query). One measuring engine
// for both phases: what makes the load figures precise makes these precise.
// Through a transaction-mode pooler (declared, or refusing the startup parameters: 08P01) the
// session holds nothing: each run is the load's pooled Sync group (BEGIN READ ONLY, SET LOCAL
// limits, the statement unnamed, so planned for its values, COMMIT), still one round trip.
// The connection's watchdog bounds every run: no byte from the server for statement_timeout
// plus a margin (src/db/deadline.ts) fails the run with 08006 (exit 3), never a hang.
import type { ConnectionTarget } from '../../db/connection.js';
import { deadlineFor } from '../../db/deadline.js';
import { loadConnection, pooledSteps, refusedStartupParameters, type SessionLimits } from './connections.js';
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
  /** Set when this client cannot time at all: the envelope times instead. */
  refused?: boolean;
  /** Whether runs go through a transaction-mode pooler (one Sync group each, nothing kept). */
  readonly pooled: boolean;
}

/**
 * A connection for timed runs; opened on first use, read-only, named like the audit's. `pooled`
 * (a declared transaction pooler) starts in the pooler's mode; a refusal of the startup
 * parameters switches to it.
 */
export function singleClient(target: ConnectionTarget, limits: SessionLimits, pooled = false): SingleClient {
  let opened: Promise<WireConnection> | undefined;
  let ended = false;
  let statementTimeoutMs = limits.statementTimeoutMs;
  const open = (): Promise<WireConnection> =>
    loadConnection(target, limits, {
      applicationName: String(target.config.application_name ?? 'dbopt'),
      settings: { plan_cache_mode: 'force_custom_plan' },
      pooled,
    }).catch((err: unknown) => {
      if (pooled || !refusedStartupParameters(err)) throw err;
      pooled = true;
      return open();
    });
  const wire = (): Promise<WireConnection> => {
    if (ended) return Promise.reject(Object.assign(new Error('the timing connection was closed'), { code: '08003' }));
    opened ??= open();
    // A failed connect is not kept: the next query tries again.
    opened.catch(() => (opened = undefined));
    return opened;
  };
  const client: SingleClient = {
    get pooled() {
      return pooled;
    },
    time: async (text, params, placeholders, runs, warmup, signal) => {
      const c = await wire();
      const send = (values: readonly WireParam[], done: (err: WireError | undefined) => void): void => {
        if (pooled) c.group(pooledSteps(text, values, { ...limits, statementTimeoutMs }), done);
        else c.query(text, values, done);
        c.flush();
      };
      return timeRuns(send, params, placeholders, runs, warmup, signal);
    },
    setStatementTimeout: async (ms) => {
      const c = await wire();
      const timeout = Math.max(1, Math.round(ms));
      statementTimeoutMs = timeout;
      // Through a pooler the limit travels with each run (SET LOCAL); the session keeps nothing.
      if (!pooled) await run(c, `SELECT set_config('statement_timeout', $1, false)`, [`${timeout}ms`]);
      c.statementTimeoutMs = timeout;
      c.silenceLimitMs = deadlineFor(timeout);
    },
    end: async () => {
      ended = true;
      const c = await opened?.catch(() => undefined);
      await c?.end();
    },
  };
  return client;
}

function run(c: WireConnection, text: string, values: readonly WireParam[]): Promise<void> {
  return new Promise((resolve, reject) => {
    c.query(text, values, (err) => (err ? reject(err) : resolve()));
    c.flush();
  });
}

type Send = (values: readonly WireParam[], done: (err: WireError | undefined) => void) => void;

async function timeRuns(
  send: Send,
  params: ParamValue[][],
  placeholders: number,
  runs: number,
  warmup: number,
  signal?: AbortSignal,
): Promise<number[]> {
  let next = 0;
  const values = (): ParamValue[] => (params.length ? params[next++ % params.length]!.slice(0, placeholders) : []);
  const once = (v: readonly WireParam[]): Promise<number> =>
    new Promise<number>((resolve, reject) => {
      const start = process.hrtime.bigint();
      send(v, (err) => {
        const end = process.hrtime.bigint();
        if (err) reject(err);
        else resolve(Number(end - start) / 1e6);
      });
    });
  for (let i = 0; i < warmup; i++) {
    throwIfAborted(signal);
    await once(values());
  }
  const timings: number[] = [];
  for (let i = 0; i < runs; i++) {
    throwIfAborted(signal);
    timings.push(await once(values()));
  }
  return timings;
}

function throwIfAborted(signal?: AbortSignal): void {
  if (signal?.aborted) throw signal.reason instanceof Error ? signal.reason : new Error('aborted');
}
