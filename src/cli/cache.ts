// The cache tier for the commands that read it (report, audit, demo): nothing happens, and no
// Redis code is loaded, unless the config has a `cache` section. --window overrides
// cache.window. The Redis password joins the secrets scrubbed from anything printed.
import { parseDuration } from '../duration.js';
import { UsageError } from '../errors.js';
import type { CacheTierResult } from '../cache/index.js';
import type { CommandContext, GlobalOptions } from './context.js';
import { secrets } from './runtime.js';

export function windowOption(opts: GlobalOptions): number | undefined {
  if (opts.window === undefined) return undefined;
  const ms = parseDuration(String(opts.window));
  if (ms === undefined)
    throw new UsageError(`--window: must be a duration like "10s" or "1m", got ${JSON.stringify(opts.window)}`, {
      hint: 'Pass --window 30s, for example.',
    });
  return ms;
}

/** The cache tier's figures, with `duringWindow` run inside the hit-ratio window; undefined without a cache section. */
export async function readCacheTier(
  ctx: CommandContext,
  duringWindow?: () => Promise<unknown>,
): Promise<CacheTierResult | undefined> {
  const config = ctx.config.cache;
  if (!config) {
    await duringWindow?.();
    return undefined;
  }
  const windowMs = windowOption(ctx.opts);
  const { redisTarget } = await import('../cache/config.js');
  const target = redisTarget(config.url);
  secrets.push(...target.secrets);
  ctx.logger.debug(`Reading the cache tier at ${target.display}`);
  const { cacheTier } = await import('../cache/index.js');
  const tier = await cacheTier({ config, windowMs, duringWindow, signal: ctx.signal });
  ctx.logger.debug(`cache tier: ${JSON.stringify(tier.commands)} in ${tier.durationMs.toFixed(0)} ms`);
  return tier;
}
