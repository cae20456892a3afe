// The cache tier's figures for dbopt report and dbopt audit, read-only and time-bounded:
// server facts from INFO (CONFIG GET only as a fallback, and its absence on managed services
// is reported, not fatal), the keyspace hit ratio since start and over the run's window (INFO
// read twice, minus the lookups dbopt's own TYPE/PTTL caused), then a sample:
//   1. SCAN (never KEYS) until cache.sampleKeys keys or the time budget: each namespace's
//      share of the sample scaled to DBSIZE, with its 95 % margin; a complete SCAN is exact.
//   2. A namespace whose margin is wider than ±5 % (a small one, like one config key per bot)
//      is counted exactly by SCAN MATCH on its glob, while the budget lasts.
//   3. Up to cache.detailKeys keys per namespace: PTTL and MEMORY USAGE, giving the share
//      without TTL, remaining-TTL p50/p95 against the policy and the memory estimate.
// Per bot (from {bot}): keys and memory, largest first. Keys no namespace matches: by prefix.
// Per-namespace hit ratios cannot be read from Redis (it keeps global counters only).
import type { CacheConfig, NamespacePolicy } from './config.js';
import { redisTarget } from './config.js';
import { openReader, type RedisReader, type Reply } from './client.js';
import {
  classifyKey,
  compileNamespace,
  countersOf,
  hitRatio,
  keyPrefix,
  keyspaceOf,
  parseInfo,
  quantile,
  shareEstimate,
  windowCounters,
  type CompiledNamespace,
  type HitRatio,
} from './estimate.js';

export interface BotFigures {
  bot: string;
  keys: number;
  bytes: number | null;
  /** Share of the namespace's keys. */
  share: number;
  /** Keys of this bot in the sample the share comes from. */
  sampled: number;
}

export interface NamespaceFigures {
  name: string;
  pattern: string;
  policy: Pick<NamespacePolicy, 'ttlMs' | 'minTtlMs' | 'maxTtlMs'>;
  /**
   * exact: complete SCAN or SCAN MATCH; probed: one key per bot, TYPE on it for every bot the
   * sample saw; sampled: share of a partial SCAN.
   */
  method: 'exact' | 'probed' | 'sampled';
  keys: number;
  /** Relative half-width of the 95 % interval of `keys` (0 = exact, null = unbounded: none sampled). */
  margin: number | null;
  /** Keys of this namespace in the SCAN sample (or all of them when exact). */
  sampled: number;
  bytes: number | null;
  /** Keys whose TTL and memory were read. */
  detailed: number;
  noTtl: number;
  noTtlShare: number | null;
  noTtlExample?: string;
  ttlP50Ms: number | null;
  ttlP95Ms: number | null;
  overPolicy: number;
  overPolicyExample?: string;
  maxTtlSeenMs: number | null;
  underPolicy: number;
  bots: BotFigures[];
  botCount: number;
}

export interface UnknownPrefix {
  prefix: string;
  keys: number;
  sampled: number;
  example: string;
}

export interface CacheTierResult {
  server: string;
  version: string;
  mode: string;
  maxmemoryBytes: number | null;
  evictionPolicy: string | null;
  /** Where the policy came from, or why it is unknown (CONFIG disabled on managed services). */
  policySource: string;
  usedMemoryBytes: number | null;
  db: number;
  dbKeys: number;
  dbKeysWithTtl: number;
  sinceStart: HitRatio;
  window: HitRatio & { ms: number; ownLookups: number };
  sample: {
    scanned: number;
    complete: boolean;
    timeMs: number;
    budgetMs: number;
    budgetHit: boolean;
    notes: string[];
    /** Keys the counts are scaled to: DBSIZE less the expired keys Redis has not reclaimed yet (expired_stale_perc). */
    liveKeys: number;
    /** Time of the SCAN sample, the exact SCAN MATCH counts and the TTL/memory reads. */
    phasesMs: { scan: number; match: number; detail: number };
  };
  namespaces: NamespaceFigures[];
  unknown: { keys: number; share: number; prefixes: UnknownPrefix[] };
  settings: Pick<CacheConfig, 'minHitRatio' | 'minLookups' | 'maxBotShare'>;
  /** Commands this run sent, by name (all of them reads). */
  commands: Record<string, number>;
  durationMs: number;
}

export interface CacheTierOptions {
  config: CacheConfig;
  /** Overrides cache.window (--window). */
  windowMs?: number;
  /**
   * Work done inside the window, right after the first INFO read and before the sampling:
   * dbopt audit runs its PostgreSQL audit here, so the window spans the whole run.
   */
  duringWindow?: () => Promise<unknown>;
  signal?: AbortSignal;
}

const SCAN_COUNT = '1000';
/**
 * SCAN MATCH filters on the server and returns few keys, so it walks more buckets per call:
 * about a millisecond of server time each, in place of ten round trips.
 */
const MATCH_COUNT = '10000';
const DETAIL_BATCH = 200;
/** A sampled count whose 95 % margin is wider than this is counted exactly (SCAN MATCH) while the budget lasts. */
export const TARGET_MARGIN = 0.05;
/** Bots seen in the sample up to which a one-key-per-bot namespace is counted by probing. */
const MAX_PROBES = 20_000;

export async function cacheTier(opts: CacheTierOptions): Promise<CacheTierResult> {
  const t0 = performance.now();
  const target = redisTarget(opts.config.url, opts.config.urlSource);
  const sent = new Map<string, number>();
  const open = async (): Promise<RedisReader> => openReader(target, opts.config.timeoutMs, sent);
  let reader = await open();
  try {
    const info1 = parseInfo(String(await reader.read(['INFO'])));
    const w0 = performance.now();
    const eviction = await evictionSettings(reader, info1);
    if (opts.duringWindow) {
      // Not idle on a connection while the audit runs (servers close idle clients): reconnect after.
      await reader.close();
      await opts.duringWindow();
      reader = await open();
    }
    return await gather(reader, opts, t0, info1, w0, eviction);
  } finally {
    await reader.close();
  }
}

async function gather(
  r: RedisReader,
  opts: CacheTierOptions,
  t0: number,
  info1: Record<string, string>,
  w0: number,
  { policy, policySource, maxmemory }: { policy: string | null; policySource: string; maxmemory: number | null },
): Promise<CacheTierResult> {
  const cfg = opts.config;
  const windowMs = opts.windowMs ?? cfg.windowMs;
  const before = countersOf(info1);
  const dbKeys = Number(await r.read(['DBSIZE'])) || 0;
  const namespaces = cfg.namespaces.map(compileNamespace);
  const deadline = performance.now() + cfg.sampleTimeMs;
  const notes: string[] = [];
  const sampleStart = performance.now();

  // 1. The SCAN sample.
  const sample = new Set<string>();
  let cursor = '0';
  let complete = false;
  let budgetHit = false;
  do {
    const reply = (await r.read(['SCAN', cursor, 'COUNT', SCAN_COUNT])) as [string, string[]];
    cursor = String(reply[0]);
    for (const k of reply[1] ?? []) sample.add(String(k));
    if (cursor === '0') complete = true;
    else if (performance.now() > deadline) budgetHit = true;
    opts.signal?.throwIfAborted();
  } while (!complete && !budgetHit && sample.size < cfg.sampleKeys);
  const scanned = sample.size;
  // DBSIZE counts keys that expired but are not reclaimed yet; SCAN skips them. Redis estimates their share.
  const stale = Math.min(0.9, Math.max(0, Number(info1.expired_stale_perc ?? 0) / 100));
  const total = complete ? scanned : Math.max(Math.round(dbKeys * (1 - stale)), scanned);
  const scanMs = performance.now() - sampleStart;

  const members = new Map<string, string[]>(namespaces.map((n) => [n.name, []]));
  const unknownKeys = new Map<string, string[]>();
  let unknownCount = 0;
  for (const key of sample) {
    const c = classifyKey(key, namespaces);
    if (c) members.get(c.ns.name)!.push(key);
    else {
      unknownCount++;
      const p = keyPrefix(key);
      const list = unknownKeys.get(p) ?? [];
      list.push(key);
      unknownKeys.set(p, list);
    }
  }

  // 2. Exact counts for namespaces the sample cannot size within ±5 %.
  const exact = new Set<string>();
  if (complete) for (const n of namespaces) exact.add(n.name);
  const wide = namespaces
    .filter((n) => !complete && shareEstimate(members.get(n.name)!.length, scanned, total).margin > TARGET_MARGIN)
    .sort((a, b) => members.get(a.name)!.length - members.get(b.name)!.length);
  let ownHits = 0,
    ownMisses = 0;
  const probed = new Set<string>();
  const seenBots = new Set<string>();
  for (const n of namespaces) {
    if (!n.hasBot) continue;
    for (const k of members.get(n.name)!) {
      const bot = n.regex.exec(k)?.[1];
      if (bot !== undefined) seenBots.add(bot);
    }
  }
  for (const n of wide) {
    if (n.hasBot && !/[*?[]/.test(n.pattern.replace('{bot}', '')) && seenBots.size > 0 && seenBots.size <= MAX_PROBES) {
      // One key per bot (bot:{bot}:config): TYPE on that key for every bot the sample saw.
      const candidates = [...seenBots].map((b) => n.pattern.replace('{bot}', b));
      const found: string[] = [];
      for (let i = 0; i < candidates.length; i += 500) {
        const part = candidates.slice(i, i + 500);
        const types = await r.readMany(part.map((k) => ['TYPE', k]));
        part.forEach((k, j) => {
          if (String(types[j]) === 'none') ownMisses++;
          else {
            ownHits++;
            found.push(k);
          }
        });
      }
      members.set(n.name, found);
      exact.add(n.name);
      probed.add(n.name);
      notes.push(
        `${n.name}: counted by probing its key for each of the ${seenBots.size.toLocaleString('en-US')} bots seen in the sample (a bot with no other key would be missed)`,
      );
      continue;
    }
    if (performance.now() > deadline) {
      budgetHit = true;
      notes.push(`${n.name}: sampled only (the time budget cache.sampleTime ran out before an exact count)`);
      continue;
    }
    const found = await matchScan(r, n, deadline, opts.signal);
    if (found) {
      members.set(n.name, [...found]);
      exact.add(n.name);
    } else {
      budgetHit = true;
      notes.push(`${n.name}: sampled only (the time budget cache.sampleTime ran out during SCAN MATCH ${n.glob})`);
    }
  }

  const matchMs = performance.now() - sampleStart - scanMs;
  // 3. TTL and memory of up to detailKeys keys per namespace (MEMORY USAGE counts no lookup).
  const figures: NamespaceFigures[] = [];
  for (const n of namespaces) {
    const keys = members.get(n.name)!;
    const est = exact.has(n.name) ? { estimate: keys.length, margin: 0 } : shareEstimate(keys.length, scanned, total);
    const detail = keys.slice(0, cfg.detailKeys);
    const rows: { key: string; pttl: number; bytes: number | null }[] = [];
    for (let i = 0; i < detail.length; i += DETAIL_BATCH) {
      const part = detail.slice(i, i + DETAIL_BATCH);
      const replies = await r.readMany(
        part.flatMap((k) => [
          ['PTTL', k],
          ['MEMORY', 'USAGE', k],
        ]),
      );
      part.forEach((key, j) => {
        const pttl = Number(replies[2 * j] as Reply);
        const mem = replies[2 * j + 1];
        if (pttl === -2) {
          ownMisses++;
          return; // expired or deleted since the SCAN
        }
        ownHits++;
        rows.push({
          key,
          pttl,
          bytes: typeof mem === 'number' ? mem : mem === null || mem instanceof Error ? null : Number(mem),
        });
      });
    }
    figures.push(
      namespaceFigures(n, est, keys, rows, probed.has(n.name) ? 'probed' : exact.has(n.name) ? 'exact' : 'sampled'),
    );
  }

  const detailEnd = performance.now();
  const left = windowMs - (performance.now() - w0);
  if (left > 0) await sleep(left, opts.signal);
  const info2 = parseInfo(String(await r.read(['INFO'])));
  const wMs = performance.now() - w0;
  const delta = windowCounters(before, countersOf(info2));
  const own = ownHits + ownMisses;
  const windowed = hitRatio({
    ...delta,
    hits: Math.max(0, delta.hits - ownHits),
    misses: Math.max(0, delta.misses - ownMisses),
  });
  const ks = keyspaceOf(info2, r.target.db);

  const unknownEst = shareEstimate(unknownCount, scanned, total);
  const prefixes: UnknownPrefix[] = [...unknownKeys]
    .map(([prefix, list]) => ({
      prefix,
      sampled: list.length,
      keys: shareEstimate(list.length, scanned, total).estimate,
      example: list[0]!,
    }))
    .sort((a, b) => b.keys - a.keys || a.prefix.localeCompare(b.prefix))
    .slice(0, 20);
  if (!complete)
    notes.unshift(
      `SCAN sample: ${scanned.toLocaleString('en-US')} of ${total.toLocaleString('en-US')} keys${budgetHit ? ' (time budget reached)' : ''}`,
    );

  return {
    server: r.target.display,
    version: info2.redis_version ?? info2.valkey_version ?? 'unknown',
    mode: info2.redis_mode ?? 'standalone',
    maxmemoryBytes: maxmemory,
    evictionPolicy: policy,
    policySource,
    usedMemoryBytes: info2.used_memory !== undefined ? Number(info2.used_memory) : null,
    db: r.target.db,
    dbKeys: Math.max(dbKeys, ks.keys),
    dbKeysWithTtl: ks.expires,
    sinceStart: hitRatio(countersOf(info2)),
    window: { ...windowed, ms: wMs, ownLookups: own },
    sample: {
      scanned,
      complete,
      timeMs: performance.now() - sampleStart,
      budgetMs: cfg.sampleTimeMs,
      budgetHit,
      notes,
      liveKeys: total,
      phasesMs: { scan: scanMs, match: matchMs, detail: detailEnd - sampleStart - scanMs - matchMs },
    },
    namespaces: figures,
    unknown: { keys: unknownEst.estimate, share: scanned ? unknownCount / scanned : 0, prefixes },
    settings: { minHitRatio: cfg.minHitRatio, minLookups: cfg.minLookups, maxBotShare: cfg.maxBotShare },
    commands: Object.fromEntries([...r.sent].sort()),
    durationMs: performance.now() - t0,
  };
}

/** Every key matching the namespace's glob, or undefined when the deadline came first. */
async function matchScan(
  r: RedisReader,
  n: CompiledNamespace,
  deadline: number,
  signal?: AbortSignal,
): Promise<Set<string> | undefined> {
  const found = new Set<string>();
  let cursor = '0';
  do {
    const reply = (await r.read(['SCAN', cursor, 'MATCH', n.glob, 'COUNT', MATCH_COUNT])) as [string, string[]];
    cursor = String(reply[0]);
    for (const k of reply[1] ?? []) if (n.regex.test(String(k))) found.add(String(k));
    if (cursor !== '0' && performance.now() > deadline) return undefined;
    signal?.throwIfAborted();
  } while (cursor !== '0');
  return found;
}

function namespaceFigures(
  n: CompiledNamespace,
  est: { estimate: number; margin: number },
  keys: string[],
  rows: { key: string; pttl: number; bytes: number | null }[],
  method: NamespaceFigures['method'],
): NamespaceFigures {
  const withTtl = rows
    .filter((x) => x.pttl >= 0)
    .map((x) => x.pttl)
    .sort((a, b) => a - b);
  const noTtl = rows.filter((x) => x.pttl === -1);
  const maxTtl = n.maxTtlMs ?? n.ttlMs;
  const over = maxTtl === undefined ? [] : rows.filter((x) => x.pttl > maxTtl);
  const under = n.minTtlMs === undefined ? [] : rows.filter((x) => x.pttl >= 0 && x.pttl < n.minTtlMs!);
  const sized = rows.filter((x) => x.bytes !== null);
  const meanBytes = sized.length ? sized.reduce((s, x) => s + x.bytes!, 0) / sized.length : null;

  const perBot = new Map<string, { sampled: number; bytes: number; sized: number }>();
  if (n.hasBot) {
    for (const key of keys) {
      const bot = n.regex.exec(key)?.[1];
      if (bot === undefined) continue;
      const b = perBot.get(bot) ?? { sampled: 0, bytes: 0, sized: 0 };
      b.sampled++;
      perBot.set(bot, b);
    }
    for (const x of sized) {
      const b = perBot.get(n.regex.exec(x.key)?.[1] ?? '');
      if (b) {
        b.bytes += x.bytes!;
        b.sized++;
      }
    }
  }
  const scale = keys.length ? est.estimate / keys.length : 0;
  const bots: BotFigures[] = [...perBot]
    .map(([bot, b]) => {
      const botKeys = Math.round(b.sampled * scale);
      const mean = b.sized ? b.bytes / b.sized : meanBytes;
      return {
        bot,
        keys: botKeys,
        sampled: b.sampled,
        share: keys.length ? b.sampled / keys.length : 0,
        bytes: mean === null ? null : Math.round(mean * botKeys),
      };
    })
    .sort((a, b) => b.keys - a.keys || a.bot.localeCompare(b.bot, 'en', { numeric: true }));

  return {
    name: n.name,
    pattern: n.pattern,
    policy: { ttlMs: n.ttlMs, minTtlMs: n.minTtlMs, maxTtlMs: n.maxTtlMs },
    method,
    keys: est.estimate,
    margin: Number.isFinite(est.margin) ? est.margin : null,
    sampled: keys.length,
    bytes: meanBytes === null ? null : Math.round(meanBytes * est.estimate),
    detailed: rows.length,
    noTtl: noTtl.length,
    noTtlShare: rows.length ? noTtl.length / rows.length : null,
    noTtlExample: noTtl[0]?.key,
    ttlP50Ms: quantile(withTtl, 0.5),
    ttlP95Ms: quantile(withTtl, 0.95),
    overPolicy: over.length,
    overPolicyExample: over[0]?.key,
    maxTtlSeenMs: withTtl.length ? withTtl[withTtl.length - 1]! : null,
    underPolicy: under.length,
    bots: bots.slice(0, 10),
    botCount: perBot.size,
  };
}

async function evictionSettings(
  r: RedisReader,
  info: Record<string, string>,
): Promise<{ policy: string | null; policySource: string; maxmemory: number | null }> {
  if (info.maxmemory_policy !== undefined) {
    return {
      policy: info.maxmemory_policy,
      policySource: 'INFO memory',
      maxmemory: info.maxmemory !== undefined ? Number(info.maxmemory) : null,
    };
  }
  // Older servers: CONFIG GET, which managed services often disable or rename.
  try {
    const reply = (await r.read(['CONFIG', 'GET', 'maxmemory*'])) as string[];
    const map = new Map<string, string>();
    for (let i = 0; i + 1 < reply.length; i += 2) map.set(String(reply[i]), String(reply[i + 1]));
    return {
      policy: map.get('maxmemory-policy') ?? null,
      policySource: 'CONFIG GET',
      maxmemory: map.has('maxmemory') ? Number(map.get('maxmemory')) : null,
    };
  } catch (err) {
    const reason = String((err as Error).message).split('\n')[0];
    return {
      policy: null,
      policySource: `unknown: INFO has no maxmemory_policy and CONFIG GET was refused (${reason})`,
      maxmemory: info.maxmemory !== undefined ? Number(info.maxmemory) : null,
    };
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(t);
        reject(signal.reason);
      },
      { once: true },
    );
  });
}
