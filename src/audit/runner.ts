// Runs one audited query safely and measures it: a READ ONLY transaction (READ WRITE only for
// `-- allow-writes`, each run then undone by a savepoint) with SET LOCAL statement_timeout and
// lock_timeout, always rolled back; warm-up runs, then N timed executions of the statement
// itself through a named prepared statement (process.hrtime around each execute), then one
// EXPLAIN (ANALYZE, BUFFERS, VERBOSE, FORMAT JSON): the custom plan for the first parameters.
// Read-only runs are timed on the load client's session (src/audit/load/single.ts), under the
// server's plan cache by default; when it ran the cached generic plan, that plan's shape is kept
// beside the custom one (generic-plan-differs). Runs timed here, in the envelope, force custom
// plans, so the plan timed is the plan EXPLAIN shows. The cold tier evicts the query's
// relations from shared buffers before each timed run where the server allows it.
// https://www.postgresql.org/docs/current/pgbuffercache.html
import type { Client, QueryConfig } from 'pg';
import { formatPgError, isPgError, lineColumn, type PgErrorLike } from '../db/pgerror.js';
import { connectionFailure, isConnectionLost, type ConnectionTarget } from '../db/connection.js';
import { UsageError } from '../errors.js';
import { setLocalTimeouts } from '../db/envelope.js';
import type { ServerInfo } from '../catalog/server.js';

export type { ServerInfo } from '../catalog/server.js';
import { analyzePlan, type ExplainOutput, type PlanFacts } from './plan.js';
import type { AuditQuery, ParamValue } from './queryFile.js';
import type { SingleClient, TimedPlan } from './load/single.js';

export interface Latency {
  runs: number;
  min: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  mean: number;
  /** Runs per equal-width bucket from min to max (20 buckets): the distribution to draw. */
  histogram?: { fromMs: number; toMs: number; counts: number[] };
}

const HISTOGRAM_BUCKETS = 20;

export type RunStatus = 'measured' | 'timeout' | 'error' | 'not-populated';

export interface ColdState {
  /** evicted: shared buffers emptied of the query's relations before each timed run. */
  mode: 'evicted' | 'unsupported';
  label: string;
  /** Buffers evicted before timed runs 2..N: what the previous run had read back in. */
  buffersReloaded?: number;
}

export interface QueryRun {
  name: string;
  file: string;
  line: number;
  tier?: string;
  budgetMs: number;
  budgetSource: string;
  statementTimeoutMs: number;
  status: RunStatus;
  latency?: Latency;
  /** Set when the plan came from EXPLAIN ANALYZE; a plain EXPLAIN (timeout) has analyzed=false. */
  plan?: PlanFacts;
  error?: { code?: string; message: string; lines: string[]; line: number; column?: number; relation?: string };
  cold?: ColdState;
  paramRows: number;
  expect: AuditQuery['expect'];
  annotationLines: Record<string, number>;
  durationMs: number;
  /** reltuples of the relations the plan reads (schema-qualified), for growth. */
  relationRows?: Record<string, number>;
  /** Which plan the timings came from: a prepared statement's cached generic plan or custom plans. */
  timedPlan?: Omit<TimedPlan, 'generic'> & { generic?: Pick<PlanFacts, 'fingerprint' | 'shape' | 'totalCost'> };
}

export interface EvictionSupport {
  supported: boolean;
  reason: string;
  /** Schema-qualified function names to call. */
  evictRelation?: string;
  evictBuffer?: string;
  bufferView?: string;
}

export interface RunSettings {
  runs: number;
  warmup: number;
  statementTimeoutMs: number;
  lockTimeoutMs: number;
  eviction: EvictionSupport;
  signal?: AbortSignal;
  /** Named in the exit-3 error when the connection is lost mid-query. */
  target?: ConnectionTarget;
  /** The timed-run client (shared with the load phase's client path). */
  timer?: SingleClient;
}

const RAW_TEXT = { getTypeParser: () => (v: string) => v };

/** Whether this server lets the audit evict shared buffers (PostgreSQL 17+, pg_buffercache, superuser). */
export async function evictionSupport(client: Client, server: ServerInfo): Promise<EvictionSupport> {
  if (server.major < 17) {
    return {
      supported: false,
      reason: `cold: not supported on PostgreSQL ${server.major} (pg_buffercache_evict needs 17+); measured warm`,
    };
  }
  const { rows } = await client.query<{ schema: string | null; superuser: boolean }>(
    `SELECT (SELECT n.nspname
               FROM pg_extension AS e
               JOIN pg_namespace AS n ON n.oid = e.extnamespace
              WHERE e.extname = 'pg_buffercache') AS schema,
            (SELECT rolsuper
               FROM pg_roles
              WHERE rolname = current_user) AS superuser`,
  );
  const schema = rows[0]?.schema;
  if (!schema) {
    return {
      supported: false,
      reason:
        'cold: not supported here (pg_buffercache not installed: a superuser can run CREATE EXTENSION pg_buffercache); measured warm',
    };
  }
  if (!rows[0]?.superuser) {
    return {
      supported: false,
      reason: 'cold: not supported here (pg_buffercache_evict needs a superuser); measured warm',
    };
  }
  const q = (s: string): string => client.escapeIdentifier(s);
  const fns = await client.query<{ rel: string | null; buf: string | null }>(
    `SELECT to_regprocedure($1) AS rel,
            to_regprocedure($2) AS buf`,
    [`${q(schema)}.pg_buffercache_evict_relation(regclass)`, `${q(schema)}.pg_buffercache_evict(integer)`],
  );
  const f = fns.rows[0]!;
  if (f.rel)
    return {
      supported: true,
      reason: 'shared buffers cold (OS page cache may still be warm)',
      evictRelation: `${q(schema)}.pg_buffercache_evict_relation`,
    };
  if (f.buf)
    return {
      supported: true,
      reason: 'shared buffers cold (OS page cache may still be warm)',
      evictBuffer: `${q(schema)}.pg_buffercache_evict`,
      bufferView: `${q(schema)}.pg_buffercache`,
    };
  return {
    supported: false,
    reason:
      'cold: not supported here (this pg_buffercache has no evict functions: ALTER EXTENSION pg_buffercache UPDATE); measured warm',
  };
}

/** Buffers evicted for these relations (quoted, schema-qualified names). */
async function evict(client: Client, support: EvictionSupport, relations: string[]): Promise<number> {
  if (support.evictRelation) {
    const { rows } = await client.query<{ n: string }>(
      `SELECT coalesce(sum(e.buffers_evicted), 0) AS n
         FROM unnest($1::text[]) AS r(name)
        CROSS JOIN LATERAL ${support.evictRelation}(to_regclass(r.name)) AS e
        WHERE to_regclass(r.name) IS NOT NULL`,
      [relations],
    );
    return Number(rows[0]!.n);
  }
  const { rows } = await client.query<{ n: string }>(
    `SELECT count(*) FILTER (WHERE ${support.evictBuffer!}(b.bufferid)) AS n
       FROM ${support.bufferView!} AS b
      WHERE b.reldatabase = (SELECT oid FROM pg_database WHERE datname = current_database())
        AND b.relfilenode IN (SELECT pg_relation_filenode(to_regclass(r.name)) FROM unnest($1::text[]) AS r(name))`,
    [relations],
  );
  return Number(rows[0]!.n);
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.ceil(p * sorted.length) - 1;
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank))]!;
}

export function summarize(timings: number[]): Latency {
  const s = [...timings].sort((a, b) => a - b);
  return {
    runs: s.length,
    min: s[0] ?? 0,
    p50: percentile(s, 0.5),
    p95: percentile(s, 0.95),
    p99: percentile(s, 0.99),
    max: s[s.length - 1] ?? 0,
    mean: s.reduce((a, b) => a + b, 0) / Math.max(1, s.length),
    histogram: histogram(s),
  };
}

function histogram(sorted: number[]): Latency['histogram'] {
  if (sorted.length === 0) return undefined;
  const from = sorted[0]!;
  const to = sorted[sorted.length - 1]!;
  const counts = new Array<number>(HISTOGRAM_BUCKETS).fill(0);
  const step = (to - from) / HISTOGRAM_BUCKETS;
  for (const t of sorted) counts[step > 0 ? Math.min(HISTOGRAM_BUCKETS - 1, Math.floor((t - from) / step)) : 0]!++;
  return { fromMs: from, toMs: to, counts };
}

/**
 * statement_timeout of one query: a few times its budget (at least 1 s, so a noisy run does
 * not end the measurement), never more than audit.statementTimeout.
 */
export function statementTimeoutFor(budgetMs: number, configTimeoutMs: number): number {
  return Math.max(1, Math.min(configTimeoutMs, Math.max(4 * budgetMs, 1000)));
}

let statementCounter = 0;

export async function runQuery(client: Client, q: AuditQuery, settings: RunSettings): Promise<QueryRun> {
  const t0 = performance.now();
  const timeoutMs = statementTimeoutFor(q.budgetMs, settings.statementTimeoutMs);
  const result: QueryRun = {
    name: q.name,
    file: q.file,
    line: q.line,
    tier: q.tier,
    budgetMs: q.budgetMs,
    budgetSource: q.budgetSource,
    statementTimeoutMs: timeoutMs,
    status: 'measured',
    paramRows: 0,
    expect: q.expect,
    annotationLines: q.annotationLines,
    durationMs: 0,
  };
  let phase: 'params' | 'query' = 'params';
  await client.query(q.allowWrites ? 'BEGIN READ WRITE' : 'BEGIN READ ONLY');
  try {
    await setLocalTimeouts(client, settings);
    const params = await paramRows(client, q);
    result.paramRows = params.length;
    await setLocalTimeouts(client, { statementTimeoutMs: timeoutMs, lockTimeoutMs: settings.lockTimeoutMs });
    // Runs timed here use a named prepared statement, which would switch to a generic plan after
    // five executions: force custom plans so the plan timed is the plan EXPLAIN shows.
    await client.query(`SELECT set_config('plan_cache_mode', 'force_custom_plan', true)`);
    phase = 'query';
    await measure(client, q, settings, params, result);
    result.plan = analyzePlan(await explain(client, q, params[0] ?? [], true));
    await relationRows(client, result.plan);
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    await judgeFailure(err, client, q, settings, phase, result);
  } finally {
    await client.query('ROLLBACK').catch(() => undefined);
  }
  result.durationMs = performance.now() - t0;
  return result;
}

/**
 * Warm-up runs, then the timed runs of a named prepared statement, cycling through the
 * parameter rows; for the cold tier, shared buffers are evicted before each run where the
 * server allows it (result.cold says which).
 */
async function measure(
  client: Client,
  q: AuditQuery,
  settings: RunSettings,
  params: ParamValue[][],
  result: QueryRun,
): Promise<void> {
  const statementName = `dbopt_audit_${process.pid}_${++statementCounter}`;
  // The caller resolved --runs > -- runs: > audit.runs; do not re-apply the file's value here.
  const runs = settings.runs;
  let next = 0;
  const values = (): ParamValue[] => (params.length ? params[next++ % params.length]!.slice(0, q.placeholders) : []);
  const exec = async (): Promise<void> => {
    const cfg: QueryConfig = { name: statementName, text: q.text, values: values() };
    if (q.allowWrites) {
      await client.query('SAVEPOINT dbopt_run');
      await client.query(cfg);
      await client.query('ROLLBACK TO SAVEPOINT dbopt_run');
    } else {
      await client.query(cfg);
    }
  };

  let relations: string[] = [];
  const coldRequested = q.cold;
  const canEvict = coldRequested && settings.eviction.supported;
  if (coldRequested) result.cold = { mode: canEvict ? 'evicted' : 'unsupported', label: settings.eviction.reason };
  if (canEvict) {
    const plain = await explain(client, q, params[0] ?? [], false);
    relations = analyzePlan(plain).relations;
  }
  // Read-only runs that need nothing between executions are timed on the load phase's client
  // path (src/audit/load/single.ts): its own read-only session, no round trip but the statement's.
  if (settings.timer && !settings.timer.refused && !q.allowWrites && !q.writes && !canEvict) {
    try {
      await settings.timer.setStatementTimeout(result.statementTimeoutMs);
      const timed = await settings.timer.time(q.text, params, q.placeholders, runs, settings.warmup, settings.signal);
      result.latency = summarize(timed.timings);
      const { generic, ...plan } = timed.plan;
      const facts = generic && analyzePlan(generic);
      result.timedPlan = facts
        ? { ...plan, generic: { fingerprint: facts.fingerprint, shape: facts.shape, totalCost: facts.totalCost } }
        : plan;
      return;
    } catch (err) {
      // The timer turns to a pooler's mode itself when its startup parameters are refused; a
      // server that refuses even that (08P01) is timed in the transaction envelope below.
      if ((err as { code?: string })?.code !== '08P01') throw err;
      settings.timer.refused = true;
    }
  }
  const why = canEvict ? 'cold: buffers evicted between runs' : q.allowWrites || q.writes ? 'a writing statement' : '';
  result.timedPlan = {
    plan: 'custom',
    reason: `timed in the transaction envelope${why ? ` (${why})` : ''}: plan_cache_mode=force_custom_plan`,
  };
  const warmup = canEvict ? Math.min(1, settings.warmup) : settings.warmup;
  for (let i = 0; i < warmup; i++) {
    throwIfAborted(settings.signal);
    await exec();
  }
  const timings: number[] = [];
  let reloaded = 0;
  for (let i = 0; i < runs; i++) {
    throwIfAborted(settings.signal);
    if (canEvict) {
      const n = await evict(client, settings.eviction, relations);
      if (i > 0) reloaded += n;
    }
    // The savepoint round trips of allow-writes stay outside the timed window.
    if (q.allowWrites) await client.query('SAVEPOINT dbopt_run');
    const start = process.hrtime.bigint();
    await client.query({ name: statementName, text: q.text, values: values() });
    const end = process.hrtime.bigint();
    if (q.allowWrites) await client.query('ROLLBACK TO SAVEPOINT dbopt_run');
    timings.push(Number(end - start) / 1e6);
  }
  if (canEvict) {
    reloaded += await evict(client, settings.eviction, relations);
    result.cold!.buffersReloaded = reloaded;
  }
  result.latency = summarize(timings);
  // The prepared statement is this transaction's alone (a fresh name per query, never reused):
  // through a transaction-mode pooler the next transaction may run on another server
  // connection, so it goes with the transaction rather than linger on this one.
  await client.query(`DEALLOCATE ${client.escapeIdentifier(statementName)}`);
}

/**
 * A run that failed: a lost connection or a usage error stops the audit; a timeout, a view not
 * populated or any other server error becomes the run's status (a finding, not a crash).
 */
async function judgeFailure(
  err: unknown,
  client: Client,
  q: AuditQuery,
  settings: RunSettings,
  phase: 'params' | 'query',
  result: QueryRun,
): Promise<void> {
  if (isConnectionLost(err)) throw settings.target ? connectionFailure(err, settings.target) : err;
  if (err instanceof UsageError || !isPgError(err)) throw err;
  const e = err as PgErrorLike & { table?: string };
  if (phase === 'query' && e.code === '57014') {
    result.status = 'timeout';
    result.plan = await plainPlan(client, q, settings).catch(() => undefined);
  } else if (e.code === '55000' && /has not been populated/.test(e.message)) {
    result.status = 'not-populated';
    result.error = {
      code: e.code,
      message: e.message,
      lines: [e.message],
      line: q.line,
      relation: /"([^"]+)"/.exec(e.message)?.[1],
    };
  } else {
    result.status = 'error';
    result.error = pgErrorAt(e, q, phase);
  }
}

function throwIfAborted(signal?: AbortSignal): void {
  if (signal?.aborted) throw signal.reason instanceof Error ? signal.reason : new Error('aborted');
}

async function paramRows(client: Client, q: AuditQuery): Promise<ParamValue[][]> {
  if (q.params) return q.params;
  if (!q.paramsFrom) return [];
  const { rows, fields } = await client.query<ParamValue[]>({
    text: q.paramsFrom.text,
    rowMode: 'array',
    types: RAW_TEXT,
  });
  if (fields.length < q.placeholders) {
    throw new UsageError(
      `${q.file}:${q.paramsFrom.line}: params-from returns ${fields.length} column${fields.length === 1 ? '' : 's'} but the statement uses $${q.placeholders}`,
      {
        hint: 'Select one column per placeholder, in placeholder order.',
      },
    );
  }
  if (rows.length === 0) {
    throw Object.assign(new Error(`params-from returned no rows, so "${q.name}" cannot be measured`), {
      code: 'P0002',
      severity: 'ERROR',
      hint: 'Seed the database, or make the sampling query return rows.',
    });
  }
  return rows;
}

async function explain(client: Client, q: AuditQuery, values: ParamValue[], analyze: boolean): Promise<ExplainOutput> {
  const options = analyze ? 'ANALYZE, BUFFERS, VERBOSE, FORMAT JSON' : 'VERBOSE, FORMAT JSON';
  const prefix = `EXPLAIN (${options}) `;
  try {
    const { rows } = await client.query<{ 'QUERY PLAN': ExplainOutput[] }>({
      text: prefix + q.text,
      values: values.slice(0, q.placeholders),
    });
    return rows[0]!['QUERY PLAN'][0]!;
  } catch (err) {
    // Point error positions at the statement, not at the EXPLAIN prefix.
    const e = err as PgErrorLike;
    if (isPgError(err) && e.position && Number(e.position) > prefix.length)
      e.position = String(Number(e.position) - prefix.length);
    throw err;
  }
}

/** The plan without running the query (after a timeout), in its own rolled-back transaction. */
async function plainPlan(client: Client, q: AuditQuery, settings: RunSettings): Promise<PlanFacts> {
  await client.query('BEGIN READ ONLY');
  try {
    await setLocalTimeouts(client, settings);
    const params = await paramRows(client, q);
    const plan = analyzePlan(await explain(client, q, params[0] ?? [], false));
    await relationRows(client, plan);
    return plan;
  } finally {
    await client.query('ROLLBACK').catch(() => undefined);
  }
}

/** reltuples of every relation a seq scan reads. */
async function relationRows(client: Client, plan: PlanFacts): Promise<void> {
  for (const scan of plan.seqScans) {
    const name = scan.schema
      ? `${client.escapeIdentifier(scan.schema)}.${client.escapeIdentifier(scan.relation)}`
      : client.escapeIdentifier(scan.relation);
    const { rows } = await client.query<{ reltuples: number }>(
      `SELECT reltuples
         FROM pg_class
        WHERE oid = to_regclass($1)`,
      [name],
    );
    scan.relationRows = rows[0] ? Math.max(0, Number(rows[0].reltuples)) : undefined;
  }
}

function pgErrorAt(e: PgErrorLike, q: AuditQuery, phase: 'params' | 'query'): NonNullable<QueryRun['error']> {
  const span =
    phase === 'params' && q.paramsFrom
      ? { file: q.file, text: q.paramsFrom.text, offsetInFile: q.paramsFrom.offset, fileText: q.fileText }
      : { file: q.file, text: q.text, offsetInFile: q.offset, fileText: q.fileText };
  const lines = formatPgError(e, span);
  let line = phase === 'params' && q.paramsFrom ? q.paramsFrom.line : q.line;
  let column: number | undefined;
  if (e.position) {
    const lc = lineColumn(q.fileText, (span.offsetInFile ?? 0) + Number(e.position) - 1);
    line = lc.line;
    column = lc.column;
  }
  return { code: e.code, message: e.message, lines, line, column };
}
