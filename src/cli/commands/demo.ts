// dbopt demo: the newcomer path in one command — the embedded PostgreSQL, the reference
// workload migrated and seeded, its views refreshed, the audit and the report — then three
// lines on pointing dbopt at a real database. Rerunning is safe and fast: nothing left to
// migrate, the seed is skipped when present, views are refreshed only when due.
import { existsSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { migrate, migrateReport } from '../../migrate/index.js';
import { seed } from '../../seed/index.js';
import { seedReport } from '../../seed/report.js';
import { refreshViews } from '../../refresh/index.js';
import { refreshReport } from '../../refresh/report.js';
import { audit } from '../../audit/index.js';
import { auditReport } from '../../audit/report.js';
import { loadQueries } from '../../audit/queryFile.js';
import { loadFindings, runLoadPhase } from '../../audit/load/phase.js';
import { loadReport } from '../../audit/load/report.js';
import { health } from '../../health/index.js';
import { healthReport } from '../../health/report.js';
import { isPostmasterOf } from '../../db/embedded.js';
import { connect, type ConnectionTarget } from '../../db/connection.js';
import { ConnectionError, UsageError } from '../../errors.js';
import type { HealthResult } from '../../health/index.js';
import { readCacheTier } from '../cache.js';
import type { Report } from '../../report.js';
import { stableStringify } from '../../stableJson.js';
import {
  commandContext,
  embeddedDir,
  intOption,
  startEmbeddedServer,
  writeOutputFile,
  type CommandContext,
  type GlobalOptions,
} from '../context.js';
import { renderReport } from '../render/index.js';
import { terminalWidth, wrapText } from '../render/fit.js';

/** The package root: the reference workload ships beside dist/. */
const PACKAGE_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

export async function runDemoCommand(opts: GlobalOptions): Promise<void> {
  if (opts.databaseUrl) {
    throw new UsageError('dbopt demo always uses the embedded PostgreSQL; --database-url does not apply', {
      hint: 'Drop --database-url, or run migrate, seed, refresh-views and audit against your server one by one.',
    });
  }
  const scale = intOption(opts.scale, '--scale') ?? 1;
  const ctx = await commandContext(opts);
  const output = demoOutput(opts);
  if (opts.reset) await resetCluster(embeddedDir(ctx.config.rootDir), ctx.logger.info);
  const server = await startEmbeddedServer(ctx.config.rootDir, ctx.logger);
  let ok: boolean;
  try {
    const { ok: passed, pending } = await runStages(ctx, server.target, scale, output.stage);
    ok = passed;
    output.finish({ ok, server: server.target.display, pending });
  } finally {
    await server.stop();
  }
  if (opts.output) writeOutputFile(opts.output, output.buffered());
  process.exitCode = ok ? 0 : 1;
}

/** Where the demo's text goes: streamed stage by stage, or, with --output, to the file at the end. */
function demoOutput(opts: GlobalOptions): {
  stage: (title: string, report: Report) => Promise<void>;
  finish: (end: { ok: boolean; server: string; pending: boolean }) => void;
  buffered: () => string;
} {
  const format = opts.format ?? 'table';
  if (format === 'html')
    throw new UsageError('dbopt demo prints five stages; --format html draws one report', {
      hint: 'After the demo, run dbopt audit --embedded --format html --output audit.html (or dbopt report).',
    });
  const stages: Record<string, Report> = {};
  let buffered = '';
  const out = (text: string): void => {
    if (opts.output) buffered += text;
    else process.stdout.write(text);
  };
  return {
    stage: async (title, report) => {
      stages[report.command] = report;
      if (format === 'json') return;
      out(`\n== ${title} ==\n`);
      out(await renderReport(report, format, { color: opts.output ? false : opts.color }));
    },
    finish: ({ ok, server, pending }) => {
      if (format === 'json') {
        const results = Object.entries(stages).map(([k, v]) => [k, { ok: v.ok, summary: v.summary, result: v.data }]);
        out(stableStringify({ command: 'demo', ok, server, stages: Object.fromEntries(results) }));
      } else {
        out(closingLines(pending));
      }
    },
    buffered: () => buffered,
  };
}

/** The five stages, each a library call and its report; ok unless a refresh or the audit failed. */
async function runStages(
  ctx: CommandContext,
  target: ConnectionTarget,
  scale: number,
  stage: (title: string, report: Report) => Promise<void>,
): Promise<{ ok: boolean; pending: boolean }> {
  const log = ctx.logger;
  const dirs = {
    migrations: path.join(PACKAGE_ROOT, 'migrations'),
    seeds: path.join(PACKAGE_ROOT, 'seeds'),
    queries: path.join(PACKAGE_ROOT, 'queries'),
  };
  await enableExtensions(target);
  const m = await migrate({ target, dir: dirs.migrations, direction: 'up', logger: log, signal: ctx.signal });
  await stage('1/5 migrate: the reference schema, indexes built CONCURRENTLY', migrateReport(m));

  const s = await seed({ target, dir: dirs.seeds, scale, logger: log, signal: ctx.signal });
  await stage(`2/5 seed: the multi-bot platform's data at scale ${scale}`, seedReport(s));

  const refreshSettings = { ...ctx.config.refresh, include: ['analytics.*'], exclude: [] };
  const r = await refreshViews({ target, settings: refreshSettings, logger: log, signal: ctx.signal });
  await stage('3/5 refresh-views: the analytics views, in dependency order', refreshReport(r));

  const baselineFile = path.join(dirs.queries, 'baseline.json');
  const a = await audit({
    target,
    audit: ctx.config.audit,
    refresh: refreshSettings,
    queriesDir: dirs.queries,
    // The shipped baseline was recorded at scale 1; at another scale plans and costs differ by design.
    baselineFile:
      scale === 1 ? baselineFile : path.join(embeddedDir(ctx.config.rootDir), `baseline-scale-${scale}.json`),
    logger: log,
    signal: ctx.signal,
  });
  const ar = auditReport(a, { strict: false });
  await stage('4/5 audit: declared queries against budgets, plans and the baseline', ar);
  await stage(
    '4/5 audit --load: the same queries at peak, 1000 requests in flight for a few seconds',
    await peak(target, a, dirs.queries, ctx),
  );

  const h = await health({ target, audit: ctx.config.audit, refresh: refreshSettings });
  await stage(
    '5/5 report: cache hit ratios, index usage, view staleness',
    healthReport({ ...h, ...(await demoCacheTier(ctx)) }),
  );
  return { ok: r.ok && ar.ok, pending: m.ran.length === 0 && s.skipped };
}

function closingLines(pending: boolean): string {
  return wrapLines([
    '',
    pending
      ? 'Nothing was pending: the schema is up to date and the data already loaded (dbopt demo --reset starts over).'
      : 'Demo complete.',
    'Next: point dbopt at your database with DATABASE_URL=postgres://user@host:5432/db (or --database-url, or database.url in dbopt.config.json).',
    'Then run `dbopt migrate lint` and `dbopt migrate` in your deploy, and `dbopt refresh-views` from cron or as `--watch`.',
    'In CI, run `dbopt audit --format junit --output audit.xml` on every pull request: it exits 1 on a regression (see examples/github-actions.yml).',
    '',
  ]).join('\n');
}

/** The closing lines, wrapped to the terminal like every table. */
function wrapLines(lines: string[]): string[] {
  const width = terminalWidth();
  return lines.flatMap((l) => (l === '' ? [''] : wrapText(l, width)));
}

/**
 * The demo's own server preloads pg_stat_statements; creating the extensions lets the report
 * show top statements and the audit measure the cold tier with shared buffers evicted.
 */
/**
 * The audit stage's short load run: 1000 requests in flight over 16 connections for 3 s. It
 * informs (does the platform hold at peak?) and does not fail the demo: on a laptop the
 * client shares the cores with the server, so the figures are the machine's as much as the
 * database's (the report says when the client was the bottleneck).
 */
async function peak(
  target: ConnectionTarget,
  a: Awaited<ReturnType<typeof audit>>,
  queriesDir: string,
  ctx: CommandContext,
): Promise<Report> {
  const cfg = ctx.config.audit;
  const log = ctx.logger;
  const candidates = await loadQueries(queriesDir, { tiers: cfg.tiers, statementTimeoutMs: cfg.statementTimeoutMs });
  const client = await connect(target);
  try {
    const settings = { ...cfg.load, concurrency: 1000, connections: 16, rate: null, durationMs: 3000, warmupMs: 1000 };
    const phase = await runLoadPhase({
      target,
      client,
      candidates,
      settings,
      statementTimeoutMs: cfg.statementTimeoutMs,
      lockTimeoutMs: cfg.lockTimeoutMs,
      signal: ctx.signal,
      onProgress: (line) => log.progress?.(`load: ${line}`),
    });
    log.progressDone?.();
    const budgets = Object.fromEntries(
      a.queries.map((q) => [q.name, { budgetMs: q.budgetMs, budgetSource: q.budgetSource, tier: q.tier }]),
    );
    return loadReport(phase.result, budgets, loadFindings(phase.result, budgets, []), target.display, phase.left);
  } finally {
    await client.end();
  }
}

async function enableExtensions(target: ConnectionTarget): Promise<void> {
  const client = await connect(target);
  try {
    await client.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
    await client.query('CREATE EXTENSION IF NOT EXISTS pg_buffercache');
  } finally {
    await client.end();
  }
}

/** --reset: stop a server still running on the demo's data directory, then remove it. */
async function resetCluster(dir: string, info: (m: string) => void): Promise<void> {
  const pidFile = path.join(dir, 'data', 'postmaster.pid');
  if (existsSync(pidFile)) {
    const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
    if (pid && isPostmasterOf(pid, path.join(dir, 'data'))) {
      try {
        process.kill(pid, 'SIGINT');
        info(`Stopping the embedded PostgreSQL (pid ${pid}) ...`);
        for (let i = 0; i < 100; i++) {
          process.kill(pid, 0);
          await new Promise((r) => setTimeout(r, 100));
        }
      } catch {
        // Gone.
      }
    }
  }
  if (existsSync(dir)) {
    info(`Removing ${path.relative(process.cwd(), dir) || dir} (--reset) ...`);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The cache tier when a Redis answers; otherwise why it was skipped (the demo goes on). */
async function demoCacheTier(ctx: CommandContext): Promise<Pick<HealthResult, 'cacheTier' | 'cacheSkipped'>> {
  if (!ctx.config.cache)
    return { cacheSkipped: 'skipped: the config has no cache section (see docs/cache.md to add the Redis tier)' };
  try {
    return { cacheTier: await readCacheTier(ctx) };
  } catch (err) {
    if (!(err instanceof ConnectionError)) throw err;
    ctx.logger.info(`Cache tier skipped: ${err.message}`);
    return {
      cacheSkipped: `skipped: ${err.message}. Start Redis (redis-server) and run the demo again, or dbopt seed --cache to fill it.`,
    };
  }
}
