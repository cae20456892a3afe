// dbopt seed --cache: the only code of dbopt that writes to Redis. It fills the configured
// namespaces for the seeded bots (ids 1 .. 5N, as seeds/01_bots.sql makes them) with keys
// written the way the platform writes them: SET with the namespace's TTL, the remaining TTL
// spread over the policy as if written at different times. Deterministic: a fixed PRNG, so
// the same scale gives the same keys, values and TTLs. Keys per bot follow a mild power law
// (bot 1 the busiest, under half of any namespace), pipelined in batches of 1,000.
import type { CacheConfig } from './config.js';
import { redisTarget } from './config.js';
import { connectRaw, redisFailure } from './client.js';
import { compileNamespace, type CompiledNamespace } from './estimate.js';

/** Keys per namespace at scale 1 for the reference names; other namespaces get 1,000. */
export const KEYS_PER_SCALE: Record<string, number> = {
  sessions: 4000,
  conversations: 3000,
  profiles: 2000,
  analytics: 1000,
};

export interface CacheSeedOptions {
  config: Pick<CacheConfig, 'url' | 'urlSource' | 'namespaces' | 'timeoutMs'>;
  scale: number;
  /** Keys per namespace instead of KEYS_PER_SCALE x scale (bench, tests). */
  keysPerNamespace?: Record<string, number>;
  /** Written before each key (tests keep their keys apart). */
  keyPrefix?: string;
  signal?: AbortSignal;
}

export interface CacheSeedResult {
  server: string;
  scale: number;
  bots: number;
  namespaces: { name: string; keys: number; ttl: string }[];
  keys: number;
  durationMs: number;
}

/** mulberry32: small, fast, deterministic. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** One key of a namespace for a bot: {bot} filled, each * (and ?) replaced by an id. */
export function keyFor(ns: CompiledNamespace, bot: number, id: number): string {
  return ns.pattern.replace('{bot}', String(bot)).replace(/\*/g, String(id)).replace(/\?/g, 'x');
}

export interface SeedKey {
  key: string;
  value: string;
  ttlMs?: number;
}

/** The keys of one namespace, deterministic for (name, scale, count). */
export function namespaceKeys(ns: CompiledNamespace, bots: number, count: number, seed: number): SeedKey[] {
  const rand = prng(seed);
  const out: SeedKey[] = [];
  const fixed = !/[*?]/.test(ns.pattern);
  if (fixed) {
    // One key per bot (bot:{bot}:config).
    for (let b = 1; b <= bots; b++)
      out.push({ key: keyFor(ns, b, 0), value: value(ns.name, b, 0), ttlMs: ttl(ns, rand) });
    return out;
  }
  for (let i = 1; i <= count; i++) {
    const bot = 1 + Math.floor(bots * rand() ** 2);
    out.push({ key: keyFor(ns, bot, i), value: value(ns.name, bot, i), ttlMs: ttl(ns, rand) });
  }
  return out;
}

function ttl(ns: CompiledNamespace, rand: () => number): number | undefined {
  const max = ns.maxTtlMs ?? ns.ttlMs;
  if (max === undefined) return undefined;
  const min = ns.minTtlMs ?? 0;
  // Remaining TTL uniform over the second half of the policy window (at least 1 s).
  return Math.max(1000, Math.round(min + (max - min) * (0.5 + 0.5 * rand())));
}

function value(name: string, bot: number, id: number): string {
  return JSON.stringify({ kind: name, bot, id, at: 1_700_000_000 + id });
}

export async function seedCache(opts: CacheSeedOptions): Promise<CacheSeedResult> {
  const t0 = performance.now();
  const target = redisTarget(opts.config.url, opts.config.urlSource);
  const bots = 5 * opts.scale;
  const client = await connectRaw(target, opts.config.timeoutMs);
  const namespaces: CacheSeedResult['namespaces'] = [];
  let total = 0;
  try {
    for (const [i, policy] of opts.config.namespaces.entries()) {
      const ns = compileNamespace({ ...policy, pattern: (opts.keyPrefix ?? '') + policy.pattern });
      const count = opts.keysPerNamespace?.[ns.name] ?? (KEYS_PER_SCALE[ns.name] ?? 1000) * opts.scale;
      const keys = namespaceKeys(ns, bots, count, 1000 + i * 7919 + opts.scale);
      for (let j = 0; j < keys.length; j += 1000) {
        opts.signal?.throwIfAborted();
        await Promise.all(
          keys
            .slice(j, j + 1000)
            .map((k) =>
              client.sendCommand(
                k.ttlMs === undefined ? ['SET', k.key, k.value] : ['SET', k.key, k.value, 'PX', String(k.ttlMs)],
              ),
            ),
        );
      }
      const ttlText = policy.ttlMs === undefined ? 'none' : `${Math.round(policy.ttlMs / 1000)}s`;
      namespaces.push({ name: ns.name, keys: new Set(keys.map((k) => k.key)).size, ttl: ttlText });
      total += namespaces[namespaces.length - 1]!.keys;
    }
  } catch (err) {
    if (opts.signal?.aborted) throw opts.signal.reason;
    throw redisFailure(err, target);
  } finally {
    try {
      client.destroy();
    } catch {
      // closed
    }
  }
  return {
    server: target.display,
    scale: opts.scale,
    bots,
    namespaces,
    keys: total,
    durationMs: performance.now() - t0,
  };
}
