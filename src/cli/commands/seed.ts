// dbopt seed: flags -> seed() -> report.
import { seed } from '../../seed/index.js';
import { seedReport } from '../../seed/report.js';
import { emit, intOption, withSessionDb, type GlobalOptions } from '../context.js';

export async function runSeedCommand(opts: GlobalOptions): Promise<void> {
  const scale = intOption(opts.scale, '--scale');
  const code = await withSessionDb(opts, { 'seed.scale': scale, 'seed.dir': opts.dir }, 'seed', async (ctx) => {
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
