// dbopt report: health figures for a person; no gate (exit 0 unless it cannot connect).
// --watch [--interval 5s] redraws them in the terminal like top until q, Ctrl-C or SIGTERM;
// off a terminal each refresh is printed in turn under a rule.
// --node primary|NAME|all: each node's figures side by side, with replication lag.
import { health } from '../../health/index.js';
import { healthReport } from '../../health/report.js';
import { parseDuration } from '../../duration.js';
import { UsageError } from '../../errors.js';
import { emit, withDb, type GlobalOptions } from '../context.js';
import { secrets } from '../runtime.js';
import { readCacheTier, windowOption } from '../cache.js';

export async function runReportCommand(opts: GlobalOptions, _args: string[] = []): Promise<void> {
  windowOption(opts);
  if (opts.watch) {
    await watchReport(opts);
    process.exitCode = 0;
    return;
  }
  await withDb(opts, {}, async (ctx) => {
    const pooler = ctx.config.database.pooler;
    if (opts.node !== undefined && !opts.embedded) {
      const { selectNodes } = await import('../../db/fleet.js');
      const { fleetHealth, fleetHealthReport } = await import('../../health/fleet.js');
      const nodes = selectNodes(String(opts.node), ctx.target, ctx.config.database);
      for (const n of nodes) secrets.push(...n.target.secrets);
      const r = await fleetHealth({
        nodes,
        primary: ctx.target,
        pooler,
        audit: ctx.config.audit,
        refresh: ctx.config.refresh,
      });
      await emit(fleetHealthReport(r), opts);
      return;
    }
    const result = await health({ target: ctx.target, audit: ctx.config.audit, refresh: ctx.config.refresh });
    const cacheTier = await readCacheTier(ctx);
    const report = healthReport(cacheTier ? { ...result, cacheTier } : result);
    // The result names the pooler mode it ran through (database.pooler), as audit's does.
    if (pooler !== 'none') report.title += ` through a ${pooler}-mode pooler`;
    report.data = { ...(report.data as object), pooler };
    await emit(report, opts);
  });
  process.exitCode = 0;
}

async function watchReport(opts: GlobalOptions): Promise<void> {
  const intervalMs = opts.interval === undefined ? 5000 : parseDuration(String(opts.interval));
  if (intervalMs === undefined || intervalMs < 500)
    throw new UsageError(`--interval: not a duration of at least 500ms: ${JSON.stringify(opts.interval)}`, {
      hint: 'Write e.g. --interval 5s or --interval 1m.',
    });
  if (opts.output || (opts.format && opts.format !== 'table'))
    throw new UsageError('--watch redraws a table in the terminal; --format and --output do not apply', {
      hint: 'Drop --watch to write a report once.',
    });
  const { renderReport } = await import('../render/index.js');
  const tty = Boolean(process.stdout.isTTY);
  await withDb(opts, {}, async (ctx) => {
    const stop = new AbortController();
    const quit = (): void => stop.abort();
    ctx.signal.addEventListener('abort', quit, { once: true });
    const stdin = process.stdin;
    const onKey = (key: Buffer): void => {
      const k = key.toString();
      if (k === 'q' || k === 'Q' || k === '\u0003') quit();
    };
    if (stdin.isTTY) {
      stdin.setRawMode(true);
      stdin.resume();
      stdin.on('data', onKey);
    }
    try {
      while (!stop.signal.aborted) {
        const result = await health({ target: ctx.target, audit: ctx.config.audit, refresh: ctx.config.refresh });
        const text = await renderReport(healthReport(result), 'table', { color: opts.color });
        const footer = `every ${intervalMs / 1000}s · ${new Date().toISOString().slice(11, 19)} UTC · ${stdin.isTTY ? 'q to quit' : 'Ctrl-C to stop'}`;
        // Home and clear on a terminal (redraw in place); a rule between refreshes elsewhere.
        process.stdout.write(tty ? `\u001b[H\u001b[2J${text}${footer}\n` : `${text}${footer}\n${'─'.repeat(40)}\n`);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, intervalMs);
          stop.signal.addEventListener(
            'abort',
            () => {
              clearTimeout(timer);
              resolve();
            },
            { once: true },
          );
        });
      }
    } finally {
      if (stdin.isTTY) {
        stdin.off('data', onKey);
        stdin.setRawMode(false);
        stdin.pause();
      }
      ctx.signal.removeEventListener('abort', quit);
    }
  });
}
