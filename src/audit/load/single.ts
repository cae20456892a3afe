// The single-client timing of dbopt audit, on the load phase's client (src/audit/load/wire.ts): one
// connection opened read-only and time-bounded from its startup packet, a named prepared
// statement, and process.hrtime from the write of each execution to its ReadyForQuery, with
// nothing else on the wire between runs (no BEGIN/SET/ROLLBACK round trips per query). One
// measuring engine for both phases: what makes the load figures precise makes these precise.
// Plans: by default (audit.planCache "auto") the statement runs as an application's prepared
// statements run it, under the server's plan_cache_mode: five custom plans, then the cached
// generic plan unless it looks costlier (pgbench -M prepared does the same). So that the plan
// timed is still a plan checked, the same session then reads pg_prepared_statements (14+) for
// which plans the timed runs used and, when it was the generic one, EXPLAIN EXECUTE of the
// statement shows it (the runner compares it with the custom plan of EXPLAIN ANALYZE:
// generic-plan-differs). "custom" forces custom plans (plan_cache_mode=force_custom_plan), as
// do servers before 14, where the counters do not exist and the plan timed could not be named.
// https://www.postgresql.org/docs/current/sql-prepare.html#SQL-PREPARE-NOTES
// Through a transaction-mode pooler (declared, or refusing the startup parameters: 08P01) the
// session holds nothing: each run is the load's pooled Sync group (BEGIN READ ONLY, SET LOCAL
// limits, the statement unnamed, so planned for its values, COMMIT), still one round trip:
// custom plans whatever audit.planCache says.
// The connection's watchdog bounds every run: no byte from the server for statement_timeout
// plus a margin (src/db/deadline.ts) fails the run with 08006 (exit 3), never a hang.
import type { ConnectionTarget } from '../../db/connection.js';
import { deadlineFor } from '../../db/deadline.js';
import { loadConnection, pooledSteps, refusedStartupParameters, type SessionLimits } from './connections.js';
import type { ExplainOutput } from '../plan.js';
import type { ParamValue } from './engine.js';
import type { WireConnection, WireError, WireParam } from './wire.js';

/** audit.planCache: the server's own plan cache (as applications run) or custom plans forced. */
export type PlanCacheMode = 'auto' | 'custom';

/** Which plan the timed runs executed, and why. */
export interface TimedPlan {
  plan: 'generic' | 'custom';
  reason: string;
  /** Timed runs on the cached generic plan and on custom plans (pg_prepared_statements, 14+). */
  genericRuns?: number;
  customRuns?: number;
  /** The cached generic plan (EXPLAIN EXECUTE on the timing session), when timed runs used it. */
  generic?: ExplainOutput;
}

export interface Timed {
  timings: number[];
  plan: TimedPlan;
}

export interface SingleClient {
  /** Warm-up runs, then `runs` timed executions: the timings in ms and the plan they ran. */
  time(
    text: string,
    params: ParamValue[][],
    placeholders: number,
    runs: number,
    warmup: number,
    signal?: AbortSignal,
  ): Promise<Timed>;
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
export function singleClient(
  target: ConnectionTarget,
  limits: SessionLimits,
  pooled = false,
  planCache: PlanCacheMode = 'auto',
): SingleClient {
  let opened: Promise<WireConnection> | undefined;
  let ended = false;
  let statementTimeoutMs = limits.statementTimeoutMs;
  /** Why custom plans are forced on this session, or undefined when the server's plan cache decides. */
  let forced: string | undefined = planCache === 'custom' ? 'audit.planCache "custom"' : undefined;
  const connect = (): Promise<WireConnection> =>
    loadConnection(target, limits, {
      applicationName: String(target.config.application_name ?? 'dbopt'),
      settings: forced ? { plan_cache_mode: 'force_custom_plan' } : {},
      pooled,
    }).catch((err: unknown) => {
      if (pooled || !refusedStartupParameters(err)) throw err;
      pooled = true;
      return connect();
    });
  const open = async (): Promise<WireConnection> => {
    const c = await connect();
    // One request out at a time: each is written as it is made (see WireConnection.writeNow).
    c.writeNow = true;
    const major = Number.parseInt(c.parameters.server_version ?? '', 10);
    if (!pooled && !forced && !(major >= 14)) {
      // Without pg_prepared_statements' counters the plan timed could not be named: custom plans.
      forced = `PostgreSQL ${Number.isNaN(major) ? '?' : major} has no plan cache counters (14+)`;
      await run(c, `SELECT set_config('plan_cache_mode', 'force_custom_plan', false)`, []);
    }
    return c;
  };
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
      };
      let next = 0;
      const values = (): ParamValue[] => (params.length ? params[next++ % params.length]!.slice(0, placeholders) : []);
      await timeRuns(send, values, warmup, signal);
      if (pooled) {
        const reason = 'through a transaction pooler: unnamed statements, planned for each run';
        return { timings: await timeRuns(send, values, runs, signal), plan: { plan: 'custom', reason } };
      }
      if (forced) {
        const reason = `plan_cache_mode=force_custom_plan (${forced})`;
        return { timings: await timeRuns(send, values, runs, signal), plan: { plan: 'custom', reason } };
      }
      const name = c.statementName(text)!;
      const before = await planCounts(c, name);
      const timings = await timeRuns(send, values, runs, signal);
      const after = await planCounts(c, name);
      return { timings, plan: await timedPlan(c, name, before, after, params[0]?.slice(0, placeholders) ?? []) };
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
  });
}

function value(c: WireConnection, text: string, values: readonly WireParam[]): Promise<string | null | undefined> {
  return new Promise((resolve, reject) => {
    c.queryValue(text, values, (err, v) => (err ? reject(err) : resolve(v)));
  });
}

/** Executions of the named statement on a generic and on custom plans so far (PostgreSQL 14+). */
async function planCounts(c: WireConnection, name: string): Promise<{ generic: number; custom: number }> {
  const v = await value(
    c,
    `SELECT generic_plans || ' ' || custom_plans
       FROM pg_prepared_statements
      WHERE name = $1`,
    [name],
  );
  const [generic, custom] = (v ?? '0 0').split(' ').map(Number);
  return { generic: generic ?? 0, custom: custom ?? 0 };
}

/**
 * Which plan the timed runs used (the counters' difference) and, when the generic one, that
 * plan: EXPLAIN EXECUTE of the statement shows the plan it runs now, the cached generic plan.
 */
async function timedPlan(
  c: WireConnection,
  name: string,
  before: { generic: number; custom: number },
  after: { generic: number; custom: number },
  values: readonly WireParam[],
): Promise<TimedPlan> {
  const genericRuns = after.generic - before.generic;
  const customRuns = after.custom - before.custom;
  const counts = { genericRuns, customRuns };
  if (genericRuns === 0) {
    const reason = `the server's plan cache planned each run (its generic plan looks costlier, or plan_cache_mode)`;
    return { plan: 'custom', reason, ...counts };
  }
  const share = customRuns ? ` (${genericRuns} of ${genericRuns + customRuns} timed runs)` : '';
  const reason =
    `the server's plan cache runs its cached generic plan, as applications' prepared statements do` + share;
  const args = values.length ? `(${values.map(literal).join(', ')})` : '';
  try {
    const json = await value(c, `EXPLAIN (FORMAT JSON) EXECUTE ${name}${args}`, []);
    const generic = json ? (JSON.parse(json) as ExplainOutput[])[0] : undefined;
    return { plan: genericRuns >= customRuns ? 'generic' : 'custom', reason, ...counts, generic };
  } catch (err) {
    // A server error (a timeout) leaves the timings standing; a lost connection does not.
    if (!(err as WireError).severity) throw err;
    const why = `${reason}; its plan could not be read: ${(err as Error).message}`;
    return { plan: genericRuns >= customRuns ? 'generic' : 'custom', reason: why, ...counts };
  }
}

/** A parameter as an SQL literal for EXECUTE (text, cast by EXECUTE to the parameter's type). */
function literal(v: WireParam): string {
  if (v === null || v === undefined) return 'NULL';
  const s = String(v);
  const quoted = `'${s.replace(/'/g, "''").replace(/\\/g, '\\\\')}'`;
  return s.includes('\\') ? `E${quoted}` : quoted;
}

type Send = (values: readonly WireParam[], done: (err: WireError | undefined) => void) => void;

/** `runs` executions, each timed from its write to its ReadyForQuery. */
async function timeRuns(send: Send, values: () => WireParam[], runs: number, signal?: AbortSignal): Promise<number[]> {
  const once = (v: readonly WireParam[]): Promise<number> =>
    new Promise<number>((resolve, reject) => {
      const start = process.hrtime.bigint();
      send(v, (err) => {
        const end = process.hrtime.bigint();
        if (err) reject(err);
        else resolve(Number(end - start) / 1e6);
      });
    });
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
