// dbopt audit: flags -> audit() -> report. Exit 0 clean, 1 findings (--strict counts warnings).
import path from 'node:path';
import { audit } from '../../audit/index.js';
import { auditReport } from '../../audit/report.js';
import { emit, intOption, withDb, type GlobalOptions } from '../context.js';
import { secrets } from '../runtime.js';
import { UsageError } from '../../errors.js';
import { readCacheTier, windowOption } from '../cache.js';
import { withCacheTier } from '../../audit/cacheFindings.js';

export async function runAuditCommand(opts: GlobalOptions, _args: string[] = []): Promise<void> {
  const runs = intOption(opts.runs, '--runs');
  windowOption(opts);
  const rate = opts.rate === undefined ? undefined : Number(opts.rate);
  if (rate !== undefined && !(rate >= 1))
    throw new UsageError(
      `--rate: must be a number of requests per second of at least 1, got ${JSON.stringify(opts.rate)}`,
      { hint: 'Pass --rate 500, for example.' },
    );
  const loadOnly = Array.isArray(opts.loadOnly) ? (opts.loadOnly as string[]) : undefined;
  const withLoad =
    Boolean(opts.load) ||
    [opts.concurrency, opts.connections, opts.rate, opts.arrivals, opts.duration, loadOnly].some(
      (v) => v !== undefined,
    );
  const overrides = {
    'audit.queries': opts.queries,
    'audit.baseline': opts.baseline,
    'audit.runs': runs,
    'audit.load.concurrency': intOption(opts.concurrency, '--concurrency'),
    'audit.load.connections': intOption(opts.connections, '--connections'),
    'audit.load.rate': rate,
    'audit.load.arrivals': opts.arrivals,
    'audit.load.duration': opts.duration,
  };
  const code = await withDb(opts, overrides, async (ctx) => {
    const common = {
      audit: ctx.config.audit,
      refresh: ctx.config.refresh,
      queriesDir:
        opts.queries === undefined ? ctx.resolvePath(ctx.config.audit.queries) : path.resolve(String(opts.queries)),
      baselineFile:
        opts.baseline === undefined ? ctx.resolvePath(ctx.config.audit.baseline) : path.resolve(String(opts.baseline)),
      runsOverride: runs,
      updateBaseline: Boolean(opts.updateBaseline),
      only: Array.isArray(opts.only) ? (opts.only as string[]) : undefined,
      logger: ctx.logger,
      signal: ctx.signal,
      pooler: ctx.config.database.pooler,
    };
    const pooler = ctx.config.database.pooler;
    if (opts.node !== undefined && !opts.embedded) {
      const { selectNodes } = await import('../../db/fleet.js');
      const { auditFleet } = await import('../../audit/fleet.js');
      const { fleetAuditReport } = await import('../../audit/fleetReport.js');
      const nodes = selectNodes(String(opts.node), ctx.target, ctx.config.database);
      for (const n of nodes) secrets.push(...n.target.secrets);
      const fleet = await auditFleet({
        ...common,
        nodes,
        primary: ctx.target,
        maxReplicaLagMs: ctx.config.fleet.maxReplicaLagMs,
        pooler,
      });
      return emit(fleetAuditReport(fleet, { strict: Boolean(opts.strict) }), opts);
    }
    // With a cache section the PostgreSQL audit runs inside the Redis hit-ratio window.
    let pg: Awaited<ReturnType<typeof audit>> | undefined;
    const tier = await readCacheTier(ctx, async () => {
      pg = await audit({
        ...common,
        target: ctx.target,
        load: withLoad ? { settings: ctx.config.audit.load, named: loadOnly } : undefined,
      });
    });
    const result = tier ? withCacheTier(pg!, tier) : pg!;
    if (result.baseline.updated)
      ctx.logger.info(`Baseline written to ${result.baseline.file} (${result.baseline.entries} queries).`);
    const report = auditReport(result, { strict: Boolean(opts.strict) });
    // The result names the pooler mode it ran through (database.pooler).
    if (pooler !== 'none') report.title += ` through a ${pooler}-mode pooler`;
    report.data = { ...result, pooler };
    const code = await emit(report, opts);
    // Stopped during the load phase: the partial figures are out, the exit says why it stopped.
    const reason: unknown = ctx.signal.aborted ? ctx.signal.reason : undefined;
    if (result.load?.partial && reason && typeof (reason as { exitCode?: unknown }).exitCode === 'number')
      return (reason as { exitCode: number }).exitCode;
    return code;
  });
  process.exitCode = code;
}
