// The load engine: drives a weighted mix of read-only statements over C connections and
// measures each request in a log-linear histogram (src/load/histogram.ts).
//
// Closed model: N requests always in flight (each finished request issues the next), as an
// application's request handlers do; latency counts from issue. Open model: requests start on a
// fixed schedule of R per second whether or not earlier ones have finished, and latency counts
// from each request's scheduled start, so a stall shows in the figures instead of slowing the
// schedule (no coordinated omission). In both, pool wait is the time from issue (or scheduled
// start) until a connection serves the request (a pipelined request also waits for the ones
// before it on its connection); the rest is the time on the connection.
//
// Bounds: a warm-up whose requests are not counted, then `durationMs` of measurement; then no
// new request is issued, requests in flight get a short grace to finish and are cancelled on
// the server after it (counted as timeouts). An abort (SIGINT/SIGTERM) ends the window early
// and marks the figures partial.
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import type { Client } from 'pg';
import type { ConnectionTarget } from '../db/connection.js';
import {
  assertWithinBudget,
  connectionBudget,
  LOAD_APPLICATION_NAME,
  loadConnection,
  type ConnectionBudget,
  type LoadSql,
} from './connections.js';
import { Histogram, type HistogramSummary } from './histogram.js';
import { ServerSampler, type ServerFigures } from './server.js';

export type ParamValue = string | number | boolean | null;

export interface LoadQuery {
  name: string;
  text: string;
  /** Share of the mix (relative to the other queries' weights). */
  weight: number;
  /** Parameter rows, cycled; empty for a statement without placeholders. */
  params: ParamValue[][];
  placeholders: number;
  /** An allow-writes query named for the load: each request runs in BEGIN READ WRITE ... ROLLBACK. */
  rollback?: boolean;
}

export type LoadModel = { kind: 'closed'; concurrency: number } | { kind: 'open'; rate: number };

export interface LoadOptions {
  target: ConnectionTarget;
  /** An ordinary connection for the pre-check and the server sampling (not a load connection). */
  client: Client;
  queries: LoadQuery[];
  model: LoadModel;
  connections: number;
  durationMs: number;
  warmupMs: number;
  statementTimeoutMs: number;
  lockTimeoutMs: number;
  maxConnectionShare: number;
  /** Requests one connection carries at once (pipelined); default: enough for the concurrency, at most 64. */
  pipeline?: number;
  /** Time requests in flight get to finish once the window closed (default min(statement timeout, 2 s)). */
  graceMs?: number;
  signal?: AbortSignal;
  /** For a progress line; called about once a second. */
  onProgress?: (line: string) => void;
}

export interface ErrorSample {
  code: string;
  message: string;
  count: number;
}

export interface QueryLoad {
  name: string;
  weight: number;
  requests: number;
  errors: number;
  /** Part of errors: statement_timeout, lock_timeout, or cancelled at the end of the run. */
  timeouts: number;
  throughput: number;
  latency: HistogramSummary;
  poolWait: HistogramSummary;
  /**
   * Time on the connection: from when the connection could serve the request (sent, or the
   * previous pipelined result arrived) until its result was read: server time plus network.
   */
  connection: HistogramSummary;
  /** Mean server execution time per call over the run (pg_stat_statements), when available. */
  serverMeanMs?: number;
  errorSamples: ErrorSample[];
}

export interface ClientFigures {
  /** CPU time of this process over the window / window wall time (1 = one core busy). */
  cpuShare: number;
  eventLoopDelayP99Ms: number;
  eventLoopDelayMaxMs: number;
  /** CPU microseconds per completed request. */
  cpuPerRequestUs: number;
  bound: boolean;
  reason: string;
}

export interface LoadResult {
  model: LoadModel['kind'];
  concurrency?: number;
  rate?: number;
  connections: number;
  pipeline: number;
  warmupMs: number;
  durationMs: number;
  /** Planned duration; durationMs is shorter when the run was stopped. */
  plannedDurationMs: number;
  partial: boolean;
  stoppedBy?: string;
  requests: number;
  errors: number;
  timeouts: number;
  throughput: number;
  /** Open model: achieved throughput / rate. */
  achievedShare?: number;
  latency: HistogramSummary;
  poolWait: HistogramSummary;
  queries: QueryLoad[];
  server: Omit<ServerFigures, 'statements'>;
  client: ClientFigures;
  budget: ConnectionBudget;
}

/** CPU share of one core above which the client, not the server, is the bottleneck. */
export const CLIENT_BOUND_CPU = 0.85;

interface QueryState {
  q: LoadQuery;
  next: number;
  latency: Histogram;
  poolWait: Histogram;
  connection: Histogram;
  requests: number;
  completedInWindow: number;
  errors: number;
  timeouts: number;
  errorSamples: Map<string, ErrorSample>;
}

interface Pending {
  state: QueryState;
  start: number;
  values: ParamValue[];
  resolve: () => void;
}

interface Conn {
  sql: LoadSql;
  /** When the previous result on this connection arrived: the server took the next one then. */
  lastEnd: number;
  inFlight: Set<Promise<unknown> & { cancel: () => unknown }>;
}

const ROLLBACK = Symbol('rollback');

/** One request of an allow-writes query: its writes are undone whatever happens. */
function rolledBack(sql: LoadSql, text: string, values: ParamValue[]): Promise<unknown> & { cancel: () => unknown } {
  const p = sql
    .begin('read write', async (tx) => {
      await tx.unsafe(text, values as never[], { prepare: true });
      throw ROLLBACK;
    })
    .catch((err: unknown) => {
      if (err !== ROLLBACK) throw err;
    });
  return Object.assign(p, { cancel: () => undefined });
}

const TIMEOUT_CODES = new Set(['57014', '55P03']);

/** A deterministic weighted order of query indexes (smooth weighted round-robin). */
export function weightedOrder(weights: number[]): number[] {
  const total = weights.reduce((a, b) => a + b, 0);
  const slots = Math.min(1000, Math.max(1, Math.round(total)));
  const current = weights.map(() => 0);
  const order: number[] = [];
  for (let n = 0; n < slots; n++) {
    let best = 0;
    for (let i = 0; i < weights.length; i++) {
      current[i]! += weights[i]!;
      if (current[i]! > current[best]!) best = i;
    }
    current[best]! -= total;
    order.push(best);
  }
  return order;
}

export async function runLoad(opts: LoadOptions): Promise<LoadResult> {
  const budget = await connectionBudget(opts.client, opts.maxConnectionShare);
  assertWithinBudget(opts.connections, budget);

  const states: QueryState[] = opts.queries.map((q) => ({
    q,
    next: 0,
    latency: new Histogram(),
    poolWait: new Histogram(),
    connection: new Histogram(),
    requests: 0,
    completedInWindow: 0,
    errors: 0,
    timeouts: 0,
    errorSamples: new Map(),
  }));
  const order = weightedOrder(opts.queries.map((q) => q.weight));
  let orderAt = 0;
  const nextState = (): QueryState => states[order[orderAt++ % order.length]!]!;

  const inFlightWanted = opts.model.kind === 'closed' ? opts.model.concurrency : 64 * opts.connections;
  const pipeline = Math.max(1, opts.pipeline ?? Math.min(64, Math.ceil(inFlightWanted / opts.connections)));
  const limits = { statementTimeoutMs: opts.statementTimeoutMs, lockTimeoutMs: opts.lockTimeoutMs };
  const conns: Conn[] = Array.from({ length: opts.connections }, () => ({
    sql: loadConnection(opts.target, limits),
    lastEnd: 0,
    inFlight: new Set(),
  }));
  const queue: Pending[] = [];
  let queueHead = 0;

  // Window bookkeeping, in performance.now() milliseconds.
  const t0 = performance.now();
  let windowStart = t0 + opts.warmupMs;
  let windowEnd = windowStart + opts.durationMs;
  let stopping = false;
  let stoppedBy: string | undefined;
  let stopNow: () => void = () => undefined;
  const stopped = new Promise<void>((resolve) => {
    stopNow = resolve;
    const onAbort = (): void => {
      stoppedBy = opts.signal?.reason instanceof Error ? opts.signal.reason.message : 'aborted';
      windowEnd = Math.min(windowEnd, performance.now());
      windowStart = Math.min(windowStart, windowEnd);
      resolve();
    };
    if (opts.signal?.aborted) onAbort();
    opts.signal?.addEventListener('abort', onAbort, { once: true });
  });

  // A pipelined connection answers in order, so a request reaches the server when it was sent
  // or when the one before it on that connection finished, whichever is later; until then it
  // waits for the connection as much as a request queued in a pool does.
  const finish = (p: Pending, sentAt: number, err: unknown, conn?: Conn): void => {
    const end = performance.now();
    const sent = conn ? Math.max(sentAt, Math.min(end, conn.lastEnd)) : sentAt;
    if (conn) conn.lastEnd = end;
    const s = p.state;
    // Latency of requests that started in the window; throughput of every completion inside
    // it (a request started in the warm-up and finished in the window is work the server did).
    if (end >= windowStart && end <= windowEnd) s.completedInWindow++;
    if (p.start >= windowStart && p.start < windowEnd) {
      s.requests++;
      s.latency.record(end - p.start);
      s.poolWait.record(sent - p.start);
      s.connection.record(end - sent);
      if (err) recordError(s, err);
    }
    p.resolve();
  };

  const dispatch = (): void => {
    while (queueHead < queue.length) {
      let conn: Conn | undefined;
      for (const c of conns)
        if (c.inFlight.size < pipeline && (!conn || c.inFlight.size < conn.inFlight.size)) conn = c;
      if (!conn) return;
      const p = queue[queueHead]!;
      queue[queueHead++] = undefined as unknown as Pending;
      if (queueHead > 4096 && queueHead * 2 > queue.length) {
        queue.splice(0, queueHead);
        queueHead = 0;
      }
      const sent = performance.now();
      const c = conn;
      const q = p.state.q;
      const pending = q.rollback
        ? rolledBack(c.sql, q.text, p.values)
        : c.sql.unsafe(q.text, p.values as never[], { prepare: true }).execute();
      c.inFlight.add(pending);
      pending.then(
        () => {
          c.inFlight.delete(pending);
          finish(p, sent, undefined, c);
          dispatch();
        },
        (err: unknown) => {
          c.inFlight.delete(pending);
          finish(p, sent, err, c);
          dispatch();
        },
      );
    }
  };

  const issue = (start: number): Promise<void> =>
    new Promise<void>((resolve) => {
      const state = nextState();
      const values = state.q.params.length
        ? state.q.params[state.next++ % state.q.params.length]!.slice(0, state.q.placeholders)
        : [];
      queue.push({ state, start, values, resolve });
      dispatch();
    });

  const sampler = new ServerSampler(
    opts.client,
    LOAD_APPLICATION_NAME,
    opts.queries.map((q) => q.text),
  );
  const delay = monitorEventLoopDelay({ resolution: 10 });
  let cpuAtStart: NodeJS.CpuUsage | undefined;
  let completedAtStart = 0;
  let windowTimer: NodeJS.Timeout | undefined;
  let endTimer: NodeJS.Timeout | undefined;
  let completed = 0;
  const progress = opts.onProgress
    ? setInterval(() => {
        const now = performance.now();
        const phase = now < windowStart ? 'warm-up' : 'load';
        opts.onProgress!(`${phase} ${((now - t0) / 1000).toFixed(0)} s: ${completed.toLocaleString('en-US')} requests`);
      }, 1000)
    : undefined;
  progress?.unref();

  let server: ServerFigures | undefined;
  try {
    // Open every connection before the clock starts, so connecting is not counted as load.
    await Promise.all(conns.map((c) => c.sql.unsafe('SELECT 1').execute()));
    await sampler.start();
    const started = performance.now();
    if (!stoppedBy) {
      const shift = started - t0;
      windowStart += shift;
      windowEnd += shift;
    }
    windowTimer = setTimeout(
      () => {
        cpuAtStart = process.cpuUsage();
        completedAtStart = completed;
        delay.enable();
      },
      Math.max(0, windowStart - started),
    );
    endTimer = setTimeout(stopNow, Math.max(0, windowEnd - started));

    const workers: Promise<void>[] = [];
    if (opts.model.kind === 'closed') {
      for (let i = 0; i < opts.model.concurrency; i++) {
        workers.push(
          (async () => {
            while (!stopping) {
              await issue(performance.now());
              completed++;
            }
          })(),
        );
      }
    } else {
      const interval = 1000 / opts.model.rate;
      workers.push(
        (async () => {
          let k = 0;
          const outstanding = new Set<Promise<void>>();
          while (!stopping) {
            const now = performance.now();
            while (!stopping && started + k * interval <= now) {
              const p = issue(started + k * interval).then(() => {
                completed++;
                outstanding.delete(p);
              });
              outstanding.add(p);
              k++;
            }
            const wait = started + k * interval - performance.now();
            await new Promise((r) => (wait > 1 ? setTimeout(r, Math.min(wait, 50)) : setImmediate(r)));
          }
          await Promise.all(outstanding);
        })(),
      );
    }

    await stopped;
    stopping = true;
    const cpu = process.cpuUsage(cpuAtStart);
    const completedInWindow = completed - completedAtStart;
    delay.disable();
    const graceMs = opts.graceMs ?? Math.min(opts.statementTimeoutMs, 2000);
    const grace = new Promise<void>((r) => setTimeout(r, graceMs).unref());
    const all = Promise.all(workers);
    if ((await Promise.race([all.then(() => 'done'), grace.then(() => 'late')])) === 'late') {
      // Requests still out after the grace: cancel them on the server, count them as timeouts.
      for (const c of conns) for (const q of c.inFlight) void Promise.resolve(q.cancel()).catch(() => undefined);
      for (let i = queueHead; i < queue.length; i++) {
        const p = queue[i]!;
        finish(
          p,
          performance.now(),
          Object.assign(new Error('not started before the end of the run'), { code: 'dbopt-unsent' }),
        );
      }
      queue.length = 0;
      queueHead = 0;
      await Promise.race([all, new Promise((r) => setTimeout(r, 1000).unref())]);
    }
    await Promise.all(conns.map((c) => c.sql.end({ timeout: 1 }).catch(() => undefined)));
    server = await sampler.stop();
    const windowMs = Math.max(1, windowEnd - windowStart);
    return summarize(opts, states, server, budget, pipeline, windowMs, stoppedBy, {
      cpuUs: cpu.user + cpu.system,
      completed: completedInWindow,
      delayP99: delay.count ? delay.percentile(99) / 1e6 : 0,
      delayMax: delay.count ? delay.max / 1e6 : 0,
    });
  } finally {
    stopping = true;
    clearTimeout(windowTimer);
    clearTimeout(endTimer);
    if (progress) clearInterval(progress);
    delay.disable();
    if (!server) {
      await Promise.all(conns.map((c) => c.sql.end({ timeout: 0 }).catch(() => undefined)));
      await sampler.stop().catch(() => undefined);
    }
  }
}

function recordError(s: QueryState, err: unknown): void {
  const e = err as { code?: string; message?: string };
  const code = typeof e?.code === 'string' ? e.code : 'error';
  s.errors++;
  if (TIMEOUT_CODES.has(code) || code === 'dbopt-unsent' || /cancel/i.test(String(e?.message))) s.timeouts++;
  const message = String(e?.message ?? err).split('\n')[0]!;
  const key = `${code} ${message}`;
  const sample = s.errorSamples.get(key);
  if (sample) sample.count++;
  else if (s.errorSamples.size < 5) s.errorSamples.set(key, { code, message, count: 1 });
}

function summarize(
  opts: LoadOptions,
  states: QueryState[],
  server: ServerFigures,
  budget: ConnectionBudget,
  pipeline: number,
  windowMs: number,
  stoppedBy: string | undefined,
  cpu: { cpuUs: number; completed: number; delayP99: number; delayMax: number },
): LoadResult {
  const latency = new Histogram();
  const poolWait = new Histogram();
  let completedInWindow = 0;
  const queries: QueryLoad[] = states.map((s) => {
    latency.add(s.latency);
    poolWait.add(s.poolWait);
    completedInWindow += s.completedInWindow;
    const serverStat = server.statements?.get(s.q.text);
    return {
      name: s.q.name,
      weight: s.q.weight,
      requests: s.requests,
      errors: s.errors,
      timeouts: s.timeouts,
      throughput: (s.completedInWindow / windowMs) * 1000,
      latency: s.latency.summary(),
      poolWait: s.poolWait.summary(),
      connection: s.connection.summary(),
      serverMeanMs: serverStat?.meanExecMs,
      errorSamples: [...s.errorSamples.values()],
    };
  });
  const throughput = (completedInWindow / windowMs) * 1000;
  const cpuShare = cpu.cpuUs / 1000 / windowMs;
  const mix = latency.summary();
  const loopBound = cpu.delayP99 >= 5 && cpu.delayP99 >= 0.2 * mix.p95;
  const bound = cpuShare >= CLIENT_BOUND_CPU || loopBound;
  const reason =
    cpuShare >= CLIENT_BOUND_CPU
      ? `client used ${Math.round(cpuShare * 100)} % of a core`
      : loopBound
        ? `event-loop delay p99 ${cpu.delayP99.toFixed(1)} ms against a p95 of ${mix.p95.toFixed(1)} ms`
        : `client used ${Math.round(cpuShare * 100)} % of a core, event-loop delay p99 ${cpu.delayP99.toFixed(1)} ms`;
  const { statements: _statements, ...serverRest } = server;
  void _statements;
  const result: LoadResult = {
    model: opts.model.kind,
    connections: opts.connections,
    pipeline,
    warmupMs: opts.warmupMs,
    durationMs: windowMs,
    plannedDurationMs: opts.durationMs,
    partial: Boolean(stoppedBy),
    stoppedBy,
    requests: queries.reduce((a, q) => a + q.requests, 0),
    errors: queries.reduce((a, q) => a + q.errors, 0),
    timeouts: queries.reduce((a, q) => a + q.timeouts, 0),
    throughput,
    latency: mix,
    poolWait: poolWait.summary(),
    queries,
    server: serverRest,
    client: {
      cpuShare,
      eventLoopDelayP99Ms: cpu.delayP99,
      eventLoopDelayMaxMs: cpu.delayMax,
      cpuPerRequestUs: cpu.completed ? cpu.cpuUs / cpu.completed : 0,
      bound,
      reason,
    },
    budget,
  };
  if (opts.model.kind === 'closed') result.concurrency = opts.model.concurrency;
  else {
    result.rate = opts.model.rate;
    result.achievedShare = throughput / opts.model.rate;
  }
  return result;
}
