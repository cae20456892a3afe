// dbopt report: health figures for a person; no gate (exit 0 unless it cannot connect).
import { health } from '../../health/index.js';
import { healthReport } from '../../health/report.js';
import { emit, withDb, type GlobalOptions } from '../context.js';

export async function runReportCommand(opts: GlobalOptions, _args: string[] = []): Promise<void> {
  await withDb(opts, {}, async (ctx) => {
    const result = await health({ target: ctx.target, audit: ctx.config.audit, refresh: ctx.config.refresh });
    await emit(healthReport(result), opts);
  });
  process.exitCode = 0;
}
