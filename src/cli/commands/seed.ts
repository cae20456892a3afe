// dbopt seed: flags -> seed() -> report.
import { seed, type SeedResult } from '../../seed/index.js';
import { formatDuration } from '../../duration.js';
import type { Report } from '../../report.js';
import { emit, intOption, withDb, type GlobalOptions } from '../context.js';

export function seedReport(r: SeedResult): Report {
  return {
    command: 'seed',
    title: 'dbopt seed',
    server: r.server,
    ok: true,
    summary: r.skipped ? `Seed skipped: ${r.reason}` : `Seeded scale ${r.scale} in ${formatDuration(r.durationMs)}`,
    sections: [
      ...(r.files.length ? [{ title: 'Files', columns: ['file', 'time'], rows: r.files.map((f) => [f.file, formatDuration(f.durationMs)]) }] : []),
      { title: 'Rows', columns: ['table', 'rows'], rows: Object.entries(r.rows).map(([t, n]) => [t, n.toLocaleString('en-US')]) },
    ],
    checks: [],
    data: r,
  };
}

export async function runSeedCommand(opts: GlobalOptions): Promise<void> {
  const scale = intOption(opts.scale, '--scale');
  const code = await withDb(opts, { 'seed.scale': scale, 'seed.dir': opts.dir }, async (ctx) => {
    const result = await seed({
      target: ctx.target,
      dir: ctx.resolvePath(ctx.config.seed.dir),
      scale: ctx.config.seed.scale,
      force: Boolean(opts.force),
      logger: ctx.logger,
      signal: ctx.signal,
    });
    return emit(seedReport(result), opts);
  });
  process.exitCode = code;
}
