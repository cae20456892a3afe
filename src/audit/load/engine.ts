// The load engine: drives a weighted mix of read-only statements over C connections and
// measures each request in a log-linear histogram (src/audit/load/histogram.ts).
//
// Closed model: N requests always in flight (each finished request issues the next), as an
// application's request handlers do; latency counts from issue. Open model: requests start on a
// schedule of R per second set in advance, whether or not earlier ones have finished (Poisson
// arrivals by default, as many independent users send them and as pgbench --rate draws them;
// or evenly spaced), and latency counts from each request's scheduled start, so a stall shows in
// the figures instead of slowing the schedule (no coordinated omission). A worker thread's clock
// (src/audit/load/clock.ts) issues each request within tens of microseconds of its time. In
// both, pool wait is the time from issue (or scheduled start) until a connection serves the
// request (a pipelined request also waits for the ones before it on its connection); the rest
// is the time on the connection.
//
// Bounds: a warm-up whose requests are not counted, then `durationMs` of measurement; then no
// new request is issued, requests in flight get a short grace to finish and are cancelled on
// the server after it (counted as timeouts). An abort (SIGINT/SIGTERM) ends the window early
// and marks the figures partial.
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import type { Client } from 'pg';
import type { ConnectionTarget } from '../../db/connection.js';
import {
  assertWithinBudget,
  connectionBudget,
  LOAD_APPLICATION_NAME,
  loadConnection,
  pooledSteps,
  refusedStartupParameters,
  type ConnectionBudget,
  type SessionLimits,
} from './connections.js';
import type { WireConnection, WireError } from './wire.js';
import { preciseClock, type PreciseClock } from './clock.js';
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

/**
 * How the open model spaces its requests: `poisson` (the default) draws exponential gaps, as
 * many independent users do and as pgbench --rate does; `uniform` issues them evenly.
 */
export type Arrivals = 'poisson' | 'uniform';

export type LoadModel = { kind: 'closed'; concurrency: number } | { kind: 'open'; rate: number; arrivals?: Arrivals };

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
  /**
   * Through a transaction-mode pooler (database.pooler "transaction"): sessions without startup
   * parameters from the start; otherwise chosen when the server refuses them (08P01).
   */
  pooled?: boolean;
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
  /** Open model: how the requests were spaced. */
  arrivals?: Arrivals;
  connections: number;
  pipeline: number;
  /** Sessions without startup parameters (a transaction-mode pooler): each request set its own limits. */
  pooled: boolean;
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
  /**
   * Open model: requests per second the schedule issued in the window (Poisson arrivals offer
   * the rate only on average: a 2 s window at 200/s draws 400 ± 20).
   */
  offered?: number;
  /** Open model: achieved throughput / offered. */
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
}

interface Conn {
  wire: WireConnection;
  /** When the previous result on this connection arrived: the server took the next one then. */
  lastEnd: number;
  /** Carries a Sync group that opens its own transaction: nothing is pipelined behind it. */
  exclusive: boolean;
}

const LOOP_RESOLUTION_MS = 10;
/** Open model from this rate on: results issue what is due, the clock fires this late if none came. */
const CLOCK_SLACK_FROM_RATE = 5000;
const CLOCK_SLACK_MS = 0.1;
/** Open model, nothing in flight: a request due within this long is waited for on the main thread. */
const IDLE_SLEEP_MS = 1;
const idleSleep = new Int32Array(new SharedArrayBuffer(4));

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

/**
 * The load connections, open before the clock starts. A server (a transaction-mode pooler)
 * that refuses the load session's startup parameters gets sessions with application_name only,
 * each request then carrying its own limits.
 */
async function openConnections(
  opts: LoadOptions,
  limits: SessionLimits,
): Promise<{ wires: WireConnection[]; pooled: boolean }> {
  const open = (pooled: boolean, n = opts.connections): Promise<WireConnection>[] =>
    Array.from({ length: n }, () => loadConnection(opts.target, limits, { pooled }));
  const settle = async (all: Promise<WireConnection>[]): Promise<WireConnection[]> => {
    const got = await Promise.allSettled(all);
    const failed = got.find((g) => g.status === 'rejected');
    if (!failed) return got.map((g) => (g as PromiseFulfilledResult<WireConnection>).value);
    for (const g of got) if (g.status === 'fulfilled') void g.value.end();
    throw (failed as PromiseRejectedResult).reason;
  };
  if (opts.pooled) return { wires: await settle(open(true)), pooled: true };
  // One connection first: a refusal shows there, before the others are opened.
  let first: WireConnection;
  try {
    first = await loadConnection(opts.target, limits);
  } catch (err) {
    if (!refusedStartupParameters(err)) throw err;
    return { wires: await settle(open(true)), pooled: true };
  }
  const rest = await settle(open(false, opts.connections - 1)).catch(async (err: unknown) => {
    await first.end();
    throw err;
  });
  return { wires: [first, ...rest], pooled: false };
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
  let pipeline = Math.max(1, opts.pipeline ?? Math.min(64, Math.ceil(inFlightWanted / opts.connections)));
  const limits = { statementTimeoutMs: opts.statementTimeoutMs, lockTimeoutMs: opts.lockTimeoutMs };
  let conns: Conn[] = [];
  let pooled = false;
  const queue: Pending[] = [];
  let queueHead = 0;

  // Window bookkeeping, in performance.now() milliseconds.
  const t0 = performance.now();
  let windowStart = t0 + opts.warmupMs;
  let windowEnd = windowStart + opts.durationMs;
  let stopping = false;
  let stoppedBy: string | undefined;
  let stopNow: () => void = () => undefined;
  let stopEarly: (why: string) => void = () => undefined;
  const stopped = new Promise<void>((resolve) => {
    stopNow = resolve;
    stopEarly = (why: string): void => {
      if (stoppedBy) return;
      stoppedBy = why;
      windowEnd = Math.min(windowEnd, performance.now());
      windowStart = Math.min(windowStart, windowEnd);
      resolve();
    };
    const onAbort = (): void =>
      stopEarly(opts.signal?.reason instanceof Error ? opts.signal.reason.message : 'aborted');
    if (opts.signal?.aborted) onAbort();
    opts.signal?.addEventListener('abort', onAbort, { once: true });
  });

  let completed = 0;
  let outstanding = 0;
  let drained: () => void = () => undefined;
  // Closed model: each completion issues the next request while the run lasts.
  const closed = opts.model.kind === 'closed';

  // A pipelined connection answers in order, so a request reaches the server when it was sent
  // or when the one before it on that connection finished, whichever is later; until then it
  // waits for the connection as much as a request queued in a pool does.
  const finish = (p: Pending, sentAt: number, err: WireError | undefined, conn?: Conn): void => {
    const end = performance.now();
    const sent = conn ? Math.max(sentAt, Math.min(end, conn.lastEnd)) : sentAt;
    if (conn) {
      conn.lastEnd = end;
      conn.exclusive = false;
    }
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
    // Every connection lost (the server went away or stopped answering): nothing more can run.
    if (err && !stopping && conn?.wire.isClosed && conns.every((c) => c.wire.isClosed))
      stopEarly(`every load connection was lost: ${err.message.split('\n')[0]}`);
    completed++;
    outstanding--;
    if (closed && !stopping) issue(performance.now());
    else if (!stopping) issueOnResult();
    else if (outstanding === 0) drained();
  };

  const send = (c: Conn, p: Pending): void => {
    const sent = performance.now();
    const q = p.state.q;
    const done = (err: WireError | undefined): void => {
      finish(p, sent, err, c);
      dispatch();
    };
    if (pooled) {
      c.exclusive = true;
      c.wire.group(pooledSteps(q.text, p.values, limits, q.rollback), done);
    } else if (q.rollback) {
      c.exclusive = true;
      c.wire.group(
        [
          ['BEGIN READ WRITE', []],
          [q.text, p.values],
          ['ROLLBACK', []],
        ],
        done,
      );
    } else {
      c.wire.query(q.text, p.values, done);
    }
  };

  // Least-loaded connection with room; a request that opens its own transaction (allow-writes,
  // or every request through a pooler) takes an idle connection to itself.
  const dispatch = (): void => {
    while (queueHead < queue.length) {
      const p = queue[queueHead]!;
      const alone = pooled || p.state.q.rollback === true;
      let conn: Conn | undefined;
      let least = alone ? 1 : pipeline;
      for (const c of conns) {
        const n = c.wire.inFlight;
        if (n < least && !c.exclusive && !c.wire.isClosed) {
          conn = c;
          least = n;
          if (n === 0) break;
        }
      }
      if (!conn) return;
      queue[queueHead++] = undefined as unknown as Pending;
      if (queueHead === queue.length) {
        queue.length = 0;
        queueHead = 0;
      } else if (queueHead > 4096 && queueHead * 2 > queue.length) {
        queue.splice(0, queueHead);
        queueHead = 0;
      }
      send(conn, p);
    }
  };

  const issue = (start: number): void => {
    const state = nextState();
    const values = state.q.params.length
      ? state.q.params[state.next++ % state.q.params.length]!.slice(0, state.q.placeholders)
      : [];
    outstanding++;
    queue.push({ state, start, values });
    dispatch();
  };

  const sampler = new ServerSampler(
    opts.client,
    LOAD_APPLICATION_NAME,
    opts.queries.map((q) => q.text),
  );
  // The histogram records the time between its timer's callbacks, the resolution included: an
  // idle loop reads about 10 ms. Lateness is what lies beyond the resolution.
  const delay = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
  let cpuAtStart: NodeJS.CpuUsage | undefined;
  let completedAtStart = 0;
  let windowTimer: NodeJS.Timeout | undefined;
  let endTimer: NodeJS.Timeout | undefined;
  let scheduleTimer: NodeJS.Timeout | undefined;
  let clock: PreciseClock | undefined;
  /** Open model: issue what is due when a result arrives (the loop is awake anyway). */
  let issueOnResult: () => void = () => undefined;
  const progress = opts.onProgress
    ? setInterval(() => {
        const now = performance.now();
        const phase = now < windowStart ? 'warm-up' : 'load';
        opts.onProgress!(`${phase} ${((now - t0) / 1000).toFixed(0)} s: ${completed.toLocaleString('en-US')} requests`);
      }, 1000)
    : undefined;
  progress?.unref();

  let server: ServerFigures | undefined;
  const closeAll = (): Promise<unknown> => Promise.all(conns.map((c) => c.wire.end()));
  try {
    // Open every connection before the clock starts, so connecting is not counted as load.
    const opened = await openConnections(opts, limits);
    pooled = opened.pooled;
    if (pooled) pipeline = 1;
    conns = opened.wires.map((wire) => ({ wire, lastEnd: 0, exclusive: false }));
    for (const c of conns) c.wire.onRolledBack = dispatch;
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

    if (opts.model.kind === 'closed') {
      if (!stoppedBy) for (let i = 0; i < opts.model.concurrency; i++) issue(performance.now());
    } else {
      // Every request due by now is issued whenever the loop wakes: its latency counts from its
      // own scheduled start, so a late wake-up shows in the figures, not in the schedule. The
      // precise clock (src/audit/load/clock.ts) wakes the loop when the next one is due; Node's
      // millisecond timers take over if its worker cannot run. At high rates the loop is awake
      // anyway, reading results, and each result also issues what is due: the clock then waits
      // a little past the due time (CLOCK_SLACK_MS) and fires only if no result came first. A
      // wake-up from the clock costs the client 25 µs or so of CPU, a quarter of a core at
      // 16,000 requests/s, taken from the server it measures on a small machine.
      const interval = 1000 / opts.model.rate;
      const gap = opts.model.arrivals === 'uniform' ? () => interval : exponentialGaps(interval);
      const slack = opts.model.rate >= CLOCK_SLACK_FROM_RATE ? CLOCK_SLACK_MS : 0;
      const hrAtStart = Number(process.hrtime.bigint()) - performance.now() * 1e6;
      let due = started;
      const issueDue = (): void => {
        const now = performance.now();
        while (!stopping && due <= now) {
          issue(due);
          due += gap();
        }
      };
      // With nothing in flight no result can come, so the next request due soon is waited for
      // here, on the main thread: a sleep to the microsecond, without a wake-up to pay for.
      const sleepIfIdle = (): void => {
        while (!stopping && outstanding === 0) {
          const wait = due - performance.now();
          if (wait >= IDLE_SLEEP_MS) return;
          if (wait > 0) Atomics.wait(idleSleep, 0, 0, wait);
          issueDue();
        }
      };
      const tick = (): void => {
        issueDue();
        sleepIfIdle();
        if (stopping) return;
        if (clock) clock.wakeAt(hrAtStart + (due + slack) * 1e6);
        else scheduleTimer = setTimeout(tick, Math.max(1, Math.min(50, due - performance.now())));
      };
      issueOnResult = (): void => {
        if (stopping) return;
        if (due <= performance.now()) issueDue();
        sleepIfIdle();
        clock?.moveTo(hrAtStart + (due + slack) * 1e6);
      };
      try {
        clock = preciseClock(tick, () => {
          clock = undefined;
          tick();
        });
      } catch {
        clock = undefined;
      }
      if (!stoppedBy) tick();
    }

    await stopped;
    stopping = true;
    clearTimeout(scheduleTimer);
    const clockStopped = clock?.stop();
    const cpu = process.cpuUsage(cpuAtStart);
    const completedInWindow = completed - completedAtStart;
    delay.disable();
    await clockStopped;
    const graceMs = opts.graceMs ?? Math.min(opts.statementTimeoutMs, 2000);
    const all = new Promise<void>((resolve) => {
      drained = resolve;
      if (outstanding === 0) resolve();
    });
    const late = (ms: number): Promise<'late'> => new Promise((r) => setTimeout(() => r('late'), ms).unref());
    if ((await Promise.race([all.then(() => 'done'), late(graceMs)])) === 'late') {
      // Requests still out after the grace: cancel them on the server, count them as timeouts.
      for (const c of conns) if (c.wire.inFlight > 0) c.wire.cancel();
      const pendingNow = queue.slice(queueHead);
      queue.length = 0;
      queueHead = 0;
      const unsent = Object.assign(new Error('not started before the end of the run'), {
        code: 'dbopt-unsent',
      }) as WireError;
      for (const p of pendingNow) finish(p, performance.now(), unsent);
      if ((await Promise.race([all.then(() => 'done'), late(1000)])) === 'late') {
        const cancelled = Object.assign(new Error('cancelled at the end of the run'), { code: '57014' }) as WireError;
        for (const c of conns) c.wire.destroy(cancelled);
      }
    }
    await closeAll();
    server = await sampler.stop();
    const windowMs = Math.max(1, windowEnd - windowStart);
    return summarize(opts, states, server, budget, { pipeline, pooled }, windowMs, stoppedBy, {
      cpuUs: cpu.user + cpu.system,
      completed: completedInWindow,
      delayP99: delay.count ? Math.max(0, delay.percentile(99) / 1e6 - LOOP_RESOLUTION_MS) : 0,
      delayMax: delay.count ? Math.max(0, delay.max / 1e6 - LOOP_RESOLUTION_MS) : 0,
    });
  } finally {
    stopping = true;
    clearTimeout(windowTimer);
    clearTimeout(endTimer);
    clearTimeout(scheduleTimer);
    await clock?.stop();
    if (progress) clearInterval(progress);
    delay.disable();
    if (!server) {
      await closeAll().catch(() => undefined);
      await sampler.stop().catch(() => undefined);
    }
  }
}

/**
 * Exponential gaps of the given mean from a seeded generator (mulberry32): Poisson arrivals that
 * are the same from one run to the next, so two runs differ by the server, not by the draw.
 */
export function exponentialGaps(meanMs: number, seed = 0x5eed): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    const u = ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    return -Math.log(1 - u) * meanMs;
  };
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
  { pipeline, pooled }: { pipeline: number; pooled: boolean },
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
  const used = `client used ${Math.round(cpuShare * 100)} % of a core`;
  const late = `event-loop delay p99 ${cpu.delayP99.toFixed(1)} ms`;
  // A late event loop in a process that used little CPU was waiting for a core, most likely
  // one the server's sessions held: client and server share the machine.
  const reason =
    cpuShare >= CLIENT_BOUND_CPU
      ? `${used}, ${late}`
      : loopBound
        ? `${late} against a p95 of ${mix.p95.toFixed(1)} ms while the ${used}: it waited for a CPU` +
          (cpuShare < 0.5 ? ', most likely one the server held on the same machine' : '')
        : `${used}, ${late}`;
  const { statements: _statements, ...serverRest } = server;
  void _statements;
  const result: LoadResult = {
    model: opts.model.kind,
    connections: opts.connections,
    pipeline,
    pooled,
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
    result.arrivals = opts.model.arrivals ?? 'poisson';
    result.offered = (result.requests / windowMs) * 1000;
    result.achievedShare = result.offered > 0 ? throughput / result.offered : 0;
  }
  return result;
}
