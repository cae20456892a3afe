// The cache tier's library on a real Redis: seeded namespaces sized within 5 % of the exact
// counts (sampled and exact paths), keys without a TTL found with an example, a one-bot
// namespace flagged, the window hit ratio of a known mix of hits and misses, and no command
// outside the read allow-list reaching the server (INFO commandstats of a private server).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cacheTier } from '../../src/cache/index.js';
import { cacheFindings } from '../../src/audit/cacheFindings.js';
import { resolveCacheSection, type CacheConfig } from '../../src/cache/config.js';
import { seedCache } from '../../src/cache/seed.js';
import { openReader, RefusedCommandError, READ_COMMANDS } from '../../src/cache/client.js';
import { redisTarget } from '../../src/cache/config.js';
import {
  commandStats,
  noRedis,
  rawClient,
  startPrivateRedis,
  testRedisUrl,
  type PrivateRedis,
  type Raw,
} from '../helpers/redis.js';

const NAMESPACES = {
  sessions: { pattern: 'bot:{bot}:session:*', ttl: '5m' },
  conversations: { pattern: 'bot:{bot}:conv:*', ttl: '15m' },
  profiles: { pattern: 'bot:{bot}:profile:*', ttl: '4h' },
  config: { pattern: 'bot:{bot}:config', ttl: '24h' },
  analytics: { pattern: 'bot:{bot}:analytics:*', ttl: '1h' },
};

function config(
  url: string,
  extra: Record<string, unknown> = {},
  namespaces: Record<string, unknown> = NAMESPACES,
): CacheConfig {
  const problems: string[] = [];
  const c = resolveCacheSection({ url, namespaces, ...extra }, {}, problems);
  if (!c) throw new Error(problems.join('\n'));
  return c;
}

// Logical databases of the shared test server that only this file writes to.
const DB_SEEDED = 11,
  DB_NOTTL = 12,
  DB_BOT = 13;

describe.skipIf(noRedis)('cache tier on a real Redis', () => {
  const clients: Raw[] = [];
  const client = async (db: number): Promise<Raw> => {
    const c = await rawClient(testRedisUrl(db));
    await c.sendCommand(['FLUSHDB']);
    clients.push(c);
    return c;
  };
  afterAll(async () => {
    for (const c of clients) {
      await c.sendCommand(['FLUSHDB']).catch(() => undefined);
      await c.close().catch(() => undefined);
    }
  });

  it('seeded namespaces: a partial SCAN sample sizes each within 5 % of the exact count; small ones are counted exactly', async () => {
    const c = await client(DB_SEEDED);
    const keysPerNamespace = { sessions: 40_000, conversations: 30_000, profiles: 20_000, analytics: 10_000 };
    const seeded = await seedCache({ config: config(testRedisUrl(DB_SEEDED)), scale: 2, keysPerNamespace });
    expect(seeded.keys).toBe(100_010);
    // A small namespace with a wildcard: too few in the sample, so counted by SCAN MATCH.
    for (let i = 0; i < 40; i++) await c.sendCommand(['SET', `bot:${1 + (i % 4)}:flag:${i}`, '1', 'PX', '600000']);
    const exactCounts: Record<string, number> = {
      ...Object.fromEntries(seeded.namespaces.map((s) => [s.name, s.keys])),
      flags: 40,
    };
    const cfg = config(
      testRedisUrl(DB_SEEDED),
      { sampleKeys: 30_000, sampleTime: '20s' },
      { ...NAMESPACES, flags: { pattern: 'bot:{bot}:flag:*', ttl: '15m' } },
    );
    const tier = await cacheTier({ config: cfg });
    expect(tier.sample.complete).toBe(false);
    expect(tier.dbKeys).toBe(100_050);
    for (const ns of tier.namespaces) {
      const exact = exactCounts[ns.name]!;
      expect(Math.abs(ns.keys - exact) / exact, `${ns.name}: ${ns.keys} vs ${exact}`).toBeLessThanOrEqual(0.05);
      expect(ns.noTtl).toBe(0);
      expect(ns.overPolicy).toBe(0);
      expect(ns.ttlP95Ms!).toBeLessThanOrEqual(ns.policy.ttlMs!);
      expect(ns.bytes).toBeGreaterThan(0);
    }
    const byName = Object.fromEntries(tier.namespaces.map((n) => [n.name, n]));
    expect(byName.sessions!.method).toBe('sampled');
    expect(byName.config).toMatchObject({ method: 'probed', keys: 10, margin: 0, botCount: 10 });
    expect(byName.flags).toMatchObject({ method: 'exact', keys: 40, margin: 0, botCount: 4 });
    expect(tier.unknown.keys).toBe(0);
    // The busiest bot comes first, and every bot of the seed is seen.
    expect(byName.sessions!.bots[0]!.bot).toBe('1');
    expect(byName.sessions!.botCount).toBe(10);
    expect(cacheFindings(tier).filter((f) => f.status === 'fail' || f.status === 'warn')).toEqual([]);
  });

  it('keys written without a TTL into one namespace: cache-ttl-missing names the namespace and an example key', async () => {
    const c = await client(DB_NOTTL);
    const cfg = config(testRedisUrl(DB_NOTTL));
    await seedCache({
      config: cfg,
      scale: 1,
      keysPerNamespace: { sessions: 2000, conversations: 1000, profiles: 2000, analytics: 500 },
    });
    for (let i = 0; i < 300; i++) await c.sendCommand(['SET', `bot:3:profile:leak-${i}`, 'x']);
    await c.sendCommand(['SET', 'tmp:job:1', 'x']);
    const findings = cacheFindings(await cacheTier({ config: cfg }));
    const missing = findings.filter((f) => f.code === 'cache-ttl-missing' && f.status === 'fail');
    expect(missing.map((f) => f.subject)).toEqual(['cache:profiles']);
    expect(missing[0]!.message).toMatch(
      /namespace profiles \(bot:\{bot\}:profile:\*\): \d+ of \d+ keys read have no TTL/,
    );
    expect(missing[0]!.message).toMatch(/e\.g\. bot:3:profile:leak-\d+/);
    expect(findings.find((f) => f.code === 'cache-unknown-keys')).toMatchObject({ status: 'warn' });
    expect(findings.find((f) => f.code === 'cache-unknown-keys')!.message).toContain('tmp:job:*');
  });

  it('one bot holding most keys of a namespace: cache-bot-imbalance names it', async () => {
    const c = await client(DB_BOT);
    const cfg = config(testRedisUrl(DB_BOT));
    const cmds: string[][] = [];
    for (let i = 0; i < 900; i++) cmds.push(['SET', `bot:42:session:${i}`, 'x', 'PX', '200000']);
    for (let b = 1; b <= 9; b++)
      for (let i = 0; i < 20; i++) cmds.push(['SET', `bot:${b}:session:${i}`, 'x', 'PX', '200000']);
    for (let b = 1; b <= 10; b++)
      for (let i = 0; i < 20; i++) cmds.push(['SET', `bot:${b}:conv:${i}`, 'x', 'PX', '600000']);
    await Promise.all(cmds.map((x) => c.sendCommand(x)));
    const findings = cacheFindings(await cacheTier({ config: cfg }));
    const imbalance = findings.filter((f) => f.code === 'cache-bot-imbalance');
    expect(imbalance.find((f) => f.subject === 'cache:sessions')).toMatchObject({ status: 'warn' });
    expect(imbalance.find((f) => f.subject === 'cache:sessions')!.message).toContain(
      'bot 42 holds 83.3 % of namespace sessions',
    );
    expect(imbalance.find((f) => f.subject === 'cache:conversations')).toMatchObject({ status: 'pass' });
  });
});

describe.skipIf(noRedis)('cache tier on a private redis-server', () => {
  let server: PrivateRedis;
  let admin: Raw;
  beforeAll(async () => {
    server = await startPrivateRedis();
    admin = await rawClient(server.url);
    const cfg = config(server.url);
    await seedCache({
      config: cfg,
      scale: 1,
      keysPerNamespace: { sessions: 500, conversations: 300, profiles: 200, analytics: 100 },
    });
  });
  afterAll(async () => {
    await admin?.close().catch(() => undefined);
    await server?.stop();
  });

  it('a known mix of hits and misses over the window gives that window hit ratio', async () => {
    const cfg = config(server.url, { window: '200ms' });
    const tier = await cacheTier({
      config: cfg,
      duringWindow: async () => {
        for (let i = 1; i <= 300; i++) await admin.sendCommand(['GET', `bot:1:session:missing-${i}`]);
        // 300 misses above; 700 hits on keys the seed wrote.
        const keys: string[] = [];
        let cursor = '0';
        do {
          const [next, batch] = (await admin.sendCommand([
            'SCAN',
            cursor,
            'MATCH',
            'bot:*:session:*',
            'COUNT',
            '1000',
          ])) as [string, string[]];
          cursor = String(next);
          keys.push(...batch.map(String));
        } while (cursor !== '0');
        for (let i = 0; i < 700; i++) await admin.sendCommand(['GET', keys[i % keys.length]!]);
      },
    });
    expect(tier.window).toMatchObject({ hits: 700, misses: 300, lookups: 1000, ratio: 0.7 });
    expect(tier.window.ownLookups).toBeGreaterThan(0);
    const low = cacheFindings(tier).find((f) => f.code === 'cache-hit-ratio-low')!;
    expect(low.status).toBe('warn');
    expect(low.message).toContain('keyspace hit ratio 70 % over the window (700 hits, 300 misses)');
    // Below cache.minLookups: not judged.
    const few = cacheFindings(await cacheTier({ config: config(server.url) })).find(
      (f) => f.code === 'cache-hit-ratio-low',
    )!;
    expect(few.status).toBe('skip');
    expect(few.message).toMatch(/^not enough data/);
  });

  it('sends only commands of the read allow-list (INFO commandstats), and refuses any other before sending it', async () => {
    await admin.sendCommand(['CONFIG', 'RESETSTAT']);
    const tier = await cacheTier({ config: config(server.url, { sampleKeys: 200 }) });
    cacheFindings(tier);
    const reader = await openReader(redisTarget(server.url), 2000);
    for (const bad of [
      ['SET', 'x', '1'],
      ['DEL', 'bot:1:config'],
      ['FLUSHALL'],
      ['CONFIG', 'SET', 'maxmemory', '1'],
      ['KEYS', '*'],
    ]) {
      await expect(reader.read(bad)).rejects.toBeInstanceOf(RefusedCommandError);
    }
    await expect(reader.readMany([['PING'], ['EXPIRE', 'bot:1:config', '1']])).rejects.toBeInstanceOf(
      RefusedCommandError,
    );
    await reader.close();
    const stats = await commandStats(admin);
    const allowed = new Set([...READ_COMMANDS].map((c) => c.toLowerCase().replace(' ', '|')));
    // The handshake (AUTH/SELECT/HELLO when needed) and the test's own CONFIG RESETSTAT and INFO.
    for (const extra of ['auth', 'select', 'hello', 'config|resetstat', 'info']) allowed.add(extra);
    const sent = Object.keys(stats).filter((name) => !allowed.has(name));
    expect(sent).toEqual([]);
    expect(stats.scan).toBeGreaterThan(0);
    expect(stats.pttl).toBeGreaterThan(0);
    expect(await admin.sendCommand(['DBSIZE'])).toBe(1105);
  });
});
