// dbopt refresh-views [views...] [--all | --dry-run | --status | --watch]: flags -> library -> report.
import { UsageError } from '../../errors.js';
import { refreshPlan, refreshStatus, refreshViews, watchViews } from '../../refresh/index.js';
import { refreshPlanReport, refreshReport, refreshStatusReport, refreshWatchReport } from '../../refresh/report.js';
import { emit, intOption, withSessionDb, type GlobalOptions } from '../context.js';
import { secrets } from '../runtime.js';
import { formatDuration } from '../../duration.js';
import type { Cell } from '../../report.js';

export async function runRefreshCommand(opts: GlobalOptions, args: string[] = []): Promise<void> {
  const concurrency = intOption(opts.concurrency, '--concurrency');
  const modes = (['all', 'dryRun', 'status', 'watch'] as const).filter((k) => opts[k]);
  const flag = (k: string): string => `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
  if (modes.length > 1 && !(modes.length === 2 && modes.includes('dryRun') && modes.includes('all'))) {
    throw new UsageError(`${modes.map(flag).join(' and ')} cannot be used together`, {
      hint: 'Pick one of --all, --dry-run, --status, --watch (only --dry-run --all combine).',
    });
  }
  if (opts.status && args.length > 0)
    throw new UsageError('--status shows every managed view and takes no view names', { hint: 'Drop the view names.' });
  const code = await withSessionDb(opts, { 'refresh.concurrency': concurrency }, 'refresh-views', async (ctx) => {
    const base = { target: ctx.target, settings: ctx.config.refresh, logger: ctx.logger, signal: ctx.signal };
    if (opts.status) {
      const status = await refreshStatus(base);
      const report = refreshStatusReport(status);
      if (ctx.config.database.replicas.length > 0) {
        const { selectNodes } = await import('../../db/fleet.js');
        const { replicaStaleness } = await import('../../refresh/replicas.js');
        const replicas = selectNodes('all', ctx.target, ctx.config.database).filter((n) => n.name !== 'primary');
        for (const n of replicas) secrets.push(...n.target.secrets);
        const onReplicas = await replicaStaleness(status, ctx.target, replicas);
        report.sections.splice(1, 0, {
          title: 'On replicas',
          columns: ['replica', 'view', 'last success (primary)', 'replay lag', 'stale by'],
          rows: onReplicas.views.map((v): Cell[] => [
            v.replica,
            v.view,
            v.lastSuccess ?? { text: 'never', tone: 'warn' },
            v.lagMs === null ? 'unknown' : formatDuration(v.lagMs),
            v.stalenessMs === undefined ? '' : formatDuration(v.stalenessMs),
          ]),
          note: `stale by: the primary's last success age plus the replica's replay lag. ${onReplicas.replicas.map((r) => `${r.name}: ${r.lag.note}`).join('; ')}`,
        });
        report.data = { ...status, replicas: onReplicas };
      }
      return emit(report, opts);
    }
    if (opts.dryRun)
      return emit(refreshPlanReport(await refreshPlan({ ...base, all: Boolean(opts.all), views: args })), opts);
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
