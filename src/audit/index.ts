// dbopt audit, the CI gate: loads the annotated queries, measures each one in its rolled-back
// envelope, reads the schema and cache statistics, runs every check and returns one result
// object (the CLI renders it; src/audit/report.ts turns it into the shared Report shape).
// With updateBaseline it also writes the baseline file. It never writes to the database.
import path from 'node:path';
import type { Config } from '../config.js';
import { connect, connectionFailure, isConnectionLost, type ConnectionTarget } from '../db/connection.js';
import { UsageError } from '../errors.js';
import { silentLogger, type Logger } from '../logger.js';
import { incomparableReason, nextBaseline, readBaseline, writeBaseline, type Baseline } from './baseline.js';
import { cacheRatios, cacheSnapshot, flushStats, type CacheSnapshot, type RatioRow } from '../catalog/cacheStats.js';
import { readOnly } from '../db/envelope.js';
import { QUERY_CHECKS, SCHEMA_CHECKS, type CheckSettings, type Severity } from './checks/index.js';
import { loadQueries } from './queryFile.js';
import { serverInfo, type ServerInfo } from '../catalog/server.js';
import { evictionSupport, runQuery, type QueryRun } from './runner.js';
import { schemaFacts, type SchemaFacts } from '../catalog/schema.js';
import { singleClient } from './load/single.js';
import {
  growthFacts,
  loadFindings,
  relationRows,
  runLoadPhase,
  type GrowthFacts,
  type LoadResult,
  type LoadSettings,
} from './load/phase.js';

export interface AuditOptions {
  target: ConnectionTarget;
  audit: Config['audit'];
  refresh: Pick<Config['refresh'], 'schedules' | 'defaultSchedule' | 'include' | 'exclude'>;
  /** Absolute paths. */
  queriesDir: string;
  baselineFile: string;
  /** --runs: wins over the files' -- runs: and audit.runs. */
  runsOverride?: number;
  updateBaseline?: boolean;
  only?: string[];
  logger?: Logger;
  signal?: AbortSignal;
  /** --load: run the declared queries under load after their single-client runs. */
  load?: { settings: LoadSettings; named?: string[] };
  /**
   * database.pooler in front of `target`. "transaction": the load runs pooled (each request its
   * own transaction, unnamed statements) and the runs are timed in the transaction envelope.
   */
  pooler?: string;
}

export type FindingStatus = 'pass' | 'fail' | 'warn' | 'skip';

export interface Finding {
  id: string;
  subject: string;
  code: string;
  severity: Severity;
  status: FindingStatus;
  message: string;
  file?: string;
  line?: number;
  column?: number;
  group?: { parent: string; kind: string; member: string };
}

export interface AuditResult {
  server: string;
  serverVersion: string;
  serverMajor: number;
  queriesDir: string;
  queries: QueryRun[];
  findings: Finding[];
  cache: { ratios: RatioRow[]; statsReset: string | null; minBlocks: number; minRatio: number };
  schema: Pick<SchemaFacts, 'statsSince' | 'refreshHistory' | 'locked'>;
  baseline: { file: string; present: boolean; major?: number; note?: string; updated: boolean; entries: number };
  cold: { supported: boolean; label: string };
  errors: number;
  warnings: number;
  durationMs: number;
  /** With a cache section: the Redis tier's figures (its findings are in `findings`). */
  cacheTier?: import('../cache/index.js').CacheTierResult;
  /** --load figures (partial when the run was stopped). */
  load?: LoadResult;
  loadLeft?: { name: string; reason: string }[];
  /** Growth exponents against the baseline, for queries whose data is 2x larger or smaller. */
  growth: GrowthFacts[];
}

export async function audit(opts: AuditOptions): Promise<AuditResult> {
  const t0 = performance.now();
  const logger = opts.logger ?? silentLogger;
  const cfg = opts.audit;
  let queries = await loadQueries(opts.queriesDir, { tiers: cfg.tiers, statementTimeoutMs: cfg.statementTimeoutMs });
  if (opts.only?.length) {
    const unknown = opts.only.filter((n) => !queries.some((q) => q.name === n));
    if (unknown.length)
      throw new UsageError(`--only: no query named ${unknown.map((n) => `"${n}"`).join(', ')} in ${opts.queriesDir}`, {
        hint: `Known: ${queries.map((q) => q.name).join(', ')}.`,
      });
    queries = queries.filter((q) => opts.only!.includes(q.name));
  }
  if (queries.length === 0)
    throw new UsageError(`no .sql query files in ${opts.queriesDir}`, {
      hint: 'Add annotated queries (see docs/audit.md), or point --queries at the right directory.',
    });
  const baseline = readBaseline(opts.baselineFile);

  const client = await connect(opts.target);
  // During the load phase the engine answers a stop itself (partial figures), so the
  // connection it samples the server with stays open until it is done.
  let inLoad = false;
  // Timed runs go through the load phase's client (src/audit/load/single.ts, one read-only session
  // of its own, bounded by its watchdog): one measuring engine for both phases. runner.ts times
  // in the transaction envelope where that session cannot serve (a pooler refusing its startup
  // parameters, allow-writes, cold eviction).
  // Through a declared transaction pooler the timer keeps nothing in its session: each run
  // carries its own read-only transaction and limits (src/audit/load/single.ts).
  const pooled = opts.pooler === 'transaction';
  const timer = singleClient(
    opts.target,
    { statementTimeoutMs: cfg.statementTimeoutMs, lockTimeoutMs: cfg.lockTimeoutMs },
    pooled,
    cfg.planCache,
  );
  const onAbort = (): void => {
    if (inLoad) return;
    void client.end().catch(() => undefined);
    void timer.end().catch(() => undefined);
  };
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    // Catalog and statistics reads run in the read-only envelope too: a locked table costs at
    // most a timeout (and its size is skipped), never a hang.
    const timeouts = { statementTimeoutMs: cfg.statementTimeoutMs, lockTimeoutMs: cfg.lockTimeoutMs };
    const { server, eviction } = await readOnly(client, timeouts, async () => {
      const server = await serverInfo(client);
      return { server, eviction: await evictionSupport(client, server) };
    });
    // The flush happens when the session goes idle outside a transaction, so it stays outside.
    await flushStats(client, server.versionNum);
    const before = await readOnly(client, timeouts, () => cacheSnapshot(client));
    const runs: QueryRun[] = [];
    for (const [i, q] of queries.entries()) {
      logger.progress?.(`[${i + 1}/${queries.length}] ${q.name}`);
      const run = await runQuery(client, q, {
        runs: opts.runsOverride ?? q.runs ?? cfg.runs,
        warmup: cfg.warmup,
        statementTimeoutMs: cfg.statementTimeoutMs,
        lockTimeoutMs: cfg.lockTimeoutMs,
        eviction,
        signal: opts.signal,
        target: opts.target,
        timer,
      });
      runs.push(run);
      logger.debug(`${q.name}: ${run.status}${run.latency ? ` p95 ${run.latency.p95.toFixed(2)} ms` : ''}`);
    }
    logger.progressDone?.();
    // Row counts of the relations each plan reads: the baseline keeps them for growth.
    await readOnly(client, timeouts, async () => {
      for (const run of runs) if (run.plan) run.relationRows = await relationRows(client, run.plan.scans);
    });
    let load: Awaited<ReturnType<typeof runLoadPhase>> | undefined;
    if (opts.load && !opts.signal?.aborted) {
      inLoad = true;
      try {
        load = await runLoadPhase({
          target: opts.target,
          client,
          candidates: queries,
          named: opts.load.named,
          settings: opts.load.settings,
          pooled,
          statementTimeoutMs: cfg.statementTimeoutMs,
          lockTimeoutMs: cfg.lockTimeoutMs,
          signal: opts.signal,
          onProgress: (line) => logger.progress?.(`load: ${line}`),
          unmeasured: new Map(runs.filter((r) => r.status !== 'measured').map((r) => [r.name, r.status])),
        });
      } finally {
        inLoad = false;
        logger.progressDone?.();
      }
    }
    await flushStats(client, server.versionNum);
    const { after, facts } = await readOnly(client, timeouts, async () => ({
      after: await cacheSnapshot(client),
      facts: await schemaFacts(client),
    }));
    const result = finish(
      opts,
      server,
      runs,
      baseline,
      before,
      after,
      facts,
      eviction.supported,
      eviction.reason,
      t0,
      load,
    );
    return result;
  } catch (err) {
    if (opts.signal?.aborted && opts.signal.reason instanceof Error) throw opts.signal.reason;
    if (isConnectionLost(err)) throw connectionFailure(err, opts.target);
    throw err;
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
    await client.end().catch(() => undefined);
    await timer.end().catch(() => undefined);
  }
}

export function checkSettings(opts: Pick<AuditOptions, 'audit' | 'refresh'>): CheckSettings {
  return {
    costRegression: opts.audit.costRegression,
    seqScanRows: opts.audit.seqScanRows,
    minCacheHitRatio: opts.audit.minCacheHitRatio,
    minBlocks: opts.audit.minBlocks,
    schedules: opts.refresh.schedules,
    defaultSchedule: opts.refresh.defaultSchedule,
    include: opts.refresh.include,
    exclude: opts.refresh.exclude,
  };
}

/** Run every check over gathered facts (pure: unit-tested without a server). */
export function runChecks(
  runs: QueryRun[],
  baseline: Baseline | undefined,
  server: Pick<ServerInfo, 'major'>,
  facts: SchemaFacts,
  settings: CheckSettings,
  updating = false,
): Finding[] {
  const findings: Finding[] = [];
  const note = updating
    ? 'baseline being updated'
    : !baseline
      ? 'no baseline'
      : baseline.server.major !== server.major
        ? `baseline from PostgreSQL ${baseline.server.major}, server is ${server.major}`
        : undefined;
  const statusOf = (s: 'pass' | 'fail' | 'skip', severity: Severity): FindingStatus =>
    s === 'fail' ? (severity === 'error' ? 'fail' : 'warn') : s;
  // One finding per check outcome; query checks point into their file, schema checks may group.
  const finding = (
    check: { code: string; severity: Severity },
    o: { status: 'pass' | 'fail' | 'skip'; message: string; column?: number; group?: Finding['group'] },
    subject: string,
    where: { file?: string; line?: number },
  ): Finding => ({
    id: `${subject}/${check.code}`,
    subject,
    code: check.code,
    severity: check.severity,
    status: statusOf(o.status, check.severity),
    message: o.message,
    ...(where.file !== undefined ? { file: where.file, line: where.line, column: o.column } : {}),
    ...(o.group !== undefined ? { group: o.group } : {}),
  });
  for (const run of runs) {
    const entry = note ? undefined : baseline?.queries[run.name];
    for (const check of QUERY_CHECKS) {
      const o = check.check({
        run,
        baseline: entry,
        baselineNote: note ?? (entry ? undefined : 'no baseline'),
        settings,
      });
      if (o) findings.push(finding(check, o, o.subject ?? run.name, { file: run.file, line: o.line ?? run.line }));
    }
  }
  for (const check of SCHEMA_CHECKS) {
    for (const o of check.check(facts, settings)) findings.push(finding(check, o, o.subject ?? 'schema', {}));
  }
  return findings;
}

function finish(
  opts: AuditOptions,
  server: ServerInfo,
  runs: QueryRun[],
  baseline: Baseline | undefined,
  before: CacheSnapshot,
  after: CacheSnapshot,
  facts: SchemaFacts,
  coldSupported: boolean,
  coldLabel: string,
  t0: number,
  load?: Awaited<ReturnType<typeof runLoadPhase>>,
): AuditResult {
  const settings = checkSettings(opts);
  const findings = runChecks(runs, baseline, server, facts, settings, Boolean(opts.updateBaseline));
  const growth =
    baseline && baseline.server.major === server.major && !opts.updateBaseline ? growthOf(runs, baseline) : [];
  const budgets = Object.fromEntries(
    runs.map((r) => [r.name, { budgetMs: r.budgetMs, budgetSource: r.budgetSource, tier: r.tier }]),
  );
  for (const f of loadFindings(load?.result, budgets, growth)) {
    const run = runs.find((r) => r.name === f.subject);
    findings.push({ ...f, file: run?.file, line: run?.line });
  }
  let updated = false;
  let entries = baseline ? Object.keys(baseline.queries).length : 0;
  if (opts.updateBaseline) {
    const next = nextBaseline(baseline, runs, server, Boolean(opts.only?.length), load?.result);
    writeBaseline(opts.baselineFile, next);
    updated = true;
    entries = Object.keys(next.queries).length;
  }
  return {
    server: opts.target.display,
    serverVersion: server.version,
    serverMajor: server.major,
    queriesDir: path.relative(process.cwd(), opts.queriesDir) || '.',
    queries: runs,
    findings,
    cache: {
      ratios: cacheRatios(after, before, opts.audit.minCacheHitRatio, opts.audit.minBlocks),
      statsReset: after.statsReset,
      minBlocks: opts.audit.minBlocks,
      minRatio: opts.audit.minCacheHitRatio,
    },
    schema: { statsSince: facts.statsSince, refreshHistory: facts.refreshHistory, locked: facts.locked },
    baseline: {
      file: path.relative(process.cwd(), opts.baselineFile) || opts.baselineFile,
      present: Boolean(baseline),
      major: baseline?.server.major,
      note: incomparableReason(baseline, server),
      updated,
      entries,
    },
    cold: { supported: coldSupported, label: coldLabel },
    errors: findings.filter((f) => f.status === 'fail').length,
    warnings: findings.filter((f) => f.status === 'warn').length,
    durationMs: performance.now() - t0,
    load: load?.result,
    loadLeft: load?.left,
    growth,
  };
}

/** Growth exponents of each measured query against its baseline entry (data 2x apart). */
function growthOf(runs: QueryRun[], baseline: Baseline): GrowthFacts[] {
  const out: GrowthFacts[] = [];
  for (const run of runs) {
    const entry = baseline.queries[run.name];
    if (!entry?.relationRows || !run.plan || !run.relationRows || run.status !== 'measured') continue;
    const g = growthFacts(
      run.name,
      run.tier,
      { relationRows: entry.relationRows, buffers: entry.buffers.total, p95: entry.latencyMs.p95 },
      { relationRows: run.relationRows, buffers: run.plan.sharedHit + run.plan.sharedRead, p95: run.latency?.p95 },
      run.plan.scans,
    );
    if (g) out.push(g);
  }
  return out;
}

export type { QueryRun } from './runner.js';
