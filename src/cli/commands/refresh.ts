// dbopt refresh-views [views...] [--all | --dry-run | --status | --watch]: flags -> library -> report.
import { UsageError } from '../../errors.js';
import { refreshPlan, refreshStatus, refreshViews, watchViews } from '../../refresh/index.js';
import { refreshPlanReport, refreshReport, refreshStatusReport, refreshWatchReport } from '../../refresh/report.js';
import { emit, intOption, withSessionDb, type GlobalOptions } from '../context.js';

export async function runRefreshCommand(opts: GlobalOptions, args: string[] = []): Promise<void> {
  const concurrency = intOption(opts.concurrency, '--concurrency');
  const modes = (['all', 'dryRun', 'status', 'watch'] as const).filter((k) => opts[k]);
  const flag = (k: string): string => `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
  if (modes.length > 1 && !(modes.length === 2 && modes.includes('dryRun') && modes.includes('all'))) {
    throw new UsageError(`${modes.map(flag).join(' and ')} cannot be used together`, { hint: 'Pick one of --all, --dry-run, --status, --watch (only --dry-run --all combine).' });
  }
  if (opts.status && args.length > 0) throw new UsageError('--status shows every managed view and takes no view names', { hint: 'Drop the view names.' });
  const code = await withSessionDb(opts, { 'refresh.concurrency': concurrency }, 'refresh-views', async (ctx) => {
    const base = { target: ctx.target, settings: ctx.config.refresh, logger: ctx.logger, signal: ctx.signal };
    if (opts.status) return emit(refreshStatusReport(await refreshStatus(base)), opts);
    if (opts.dryRun) return emit(refreshPlanReport(await refreshPlan({ ...base, all: Boolean(opts.all), views: args })), opts);
    if (opts.watch) {
      // A watcher asked to stop exits 0 once stopped (PRODUCT.md), not 130/143.
      const w = await watchViews({ ...base, views: args, signal: ctx.signal });
      await emit(refreshWatchReport(w), opts);
      return 0;
    }
    return emit(refreshReport(await refreshViews({ ...base, all: Boolean(opts.all), views: args })), opts);
  });
  process.exitCode = code;
}
