// dbopt seed: flags -> seed() -> report.
import { seed } from '../../seed/index.js';
import { seedReport } from '../../seed/report.js';
import { commandContext, emit, intOption, withSessionDb, type GlobalOptions } from '../context.js';
import { UsageError } from '../../errors.js';
import { secrets } from '../runtime.js';

/** seed --cache: fill the configured Redis only (the one command of dbopt that writes to it). */
async function runCacheSeed(opts: GlobalOptions, scale: number | undefined): Promise<number> {
  const ctx = await commandContext(opts, { 'seed.scale': scale });
  const cache = ctx.config.cache;
  if (!cache) {
    throw new UsageError(`seed --cache: ${ctx.config.configPath ?? 'the config'} has no cache section`, {
      hint: 'Declare cache.url and cache.namespaces (see docs/cache.md), then run dbopt seed --cache again.',
    });
  }
  const { redisTarget } = await import('../../cache/config.js');
  secrets.push(...redisTarget(cache.url).secrets);
  const { seedCache } = await import('../../cache/seed.js');
  const { cacheSeedReport } = await import('../../cache/report.js');
  ctx.logger.info(`Filling the cache tier at ${redisTarget(cache.url).display} (scale ${ctx.config.seed.scale}) ...`);
  const result = await seedCache({ config: cache, scale: ctx.config.seed.scale, signal: ctx.signal });
  return emit(cacheSeedReport(result), opts);
}

export async function runSeedCommand(opts: GlobalOptions): Promise<void> {
  const scale = intOption(opts.scale, '--scale');
  if (opts.cache) {
    process.exitCode = await runCacheSeed(opts, scale);
    return;
  }
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
