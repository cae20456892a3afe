// The cache tier's pure parts: config validation and redaction, key patterns, estimators, INFO.
import { describe, expect, it } from 'vitest';
import { redisTarget, resolveCacheSection } from '../../src/cache/config.js';
import { redactRedisUrl } from '../../src/redact.js';
import {
  classifyKey,
  compileNamespace,
  hitRatio,
  keyPrefix,
  parseInfo,
  quantile,
  shareEstimate,
  windowCounters,
} from '../../src/cache/estimate.js';
import { commandName, READ_COMMANDS } from '../../src/cache/client.js';
import { resolveConfig } from '../../src/config.js';
import { namespaceKeys } from '../../src/cache/seed.js';

const NS = {
  sessions: { pattern: 'bot:{bot}:session:*', ttl: '5m' },
  config: { pattern: 'bot:{bot}:config', ttl: '24h' },
};

describe('cache config', () => {
  it('resolves defaults and durations; absent section -> undefined', () => {
    const problems: string[] = [];
    const c = resolveCacheSection({ url: 'redis://127.0.0.1:6379/2', namespaces: NS }, {}, problems)!;
    expect(problems).toEqual([]);
    expect(c.namespaces.map((n) => [n.name, n.ttlMs])).toEqual([
      ['sessions', 300_000],
      ['config', 86_400_000],
    ]);
    expect(c.minHitRatio).toBe(0.9);
    expect(resolveCacheSection(undefined, {}, problems)).toBeUndefined();
    expect(resolveConfig({}, { rootDir: '/', env: {}, overrides: {} }).cache).toBeUndefined();
  });

  it('reports every problem with its key path', () => {
    const problems: string[] = [];
    resolveCacheSection(
      {
        url: 'http://x',
        namespaces: { a: { pattern: 'x:{user}:*', ttl: 'soon', frob: 1 } },
        minHitRatio: 2,
        extra: true,
      },
      {},
      problems,
    );
    expect(problems.join('\n')).toContain('cache.extra: unknown key');
    expect(problems.join('\n')).toContain('cache.url: must start with redis:// or rediss://');
    expect(problems.join('\n')).toContain('cache.namespaces.a.frob: unknown key');
    expect(problems.join('\n')).toContain('cache.namespaces.a.pattern: unknown placeholder {user}');
    expect(problems.join('\n')).toContain('cache.namespaces.a.ttl: must be a duration');
    expect(problems.join('\n')).toContain('cache.minHitRatio: must be a number between 0 and 1');
  });

  it('DBOPT_CACHE_URL overrides cache.url; a bad URL is shown without its password', () => {
    const problems: string[] = [];
    const c = resolveCacheSection(
      { url: 'redis://a:6379', namespaces: NS },
      { DBOPT_CACHE_URL: 'rediss://h:6380/1' },
      problems,
    )!;
    expect(c.url).toBe('rediss://h:6380/1');
    resolveCacheSection({ url: 'mysql://u:s3cr%t@h', namespaces: NS }, {}, problems);
    expect(problems.join('\n')).not.toContain('s3cr');
  });

  it('redisTarget and redaction never show the password, even with URL-special characters', () => {
    const pw = 'p@ss:w/rd#%?&';
    const url = `rediss://app:${encodeURIComponent(pw)}@cache.internal:6380/3`;
    const t = redisTarget(url);
    expect(t.display).toBe('rediss://app@cache.internal:6380/3');
    expect(t.tls).toBe(true);
    expect(t.db).toBe(3);
    expect(t.secrets).toContain(pw);
    expect(redactRedisUrl(`failed: ${url} and redis://:${pw}@h:1`)).not.toContain('ss:w');
    expect(redactRedisUrl('redis://h:6379/0')).toBe('redis://h:6379/0');
  });

  it('the JSON schema ships the cache section', async () => {
    const { configJsonSchema } = await import('../../src/config.js');
    const props = configJsonSchema().properties as Record<string, { properties?: Record<string, unknown> }>;
    expect(Object.keys(props.cache!.properties!)).toContain('namespaces');
  });
});

describe('key patterns and estimators', () => {
  const ns = [
    compileNamespace({ name: 'sessions', pattern: 'bot:{bot}:session:*' }),
    compileNamespace({ name: 'config', pattern: 'bot:{bot}:config' }),
  ];

  it('classifies keys by namespace and captures the bot', () => {
    expect(classifyKey('bot:17:session:abc', ns)).toMatchObject({ ns: { name: 'sessions' }, bot: '17' });
    expect(classifyKey('bot:17:config', ns)).toMatchObject({ ns: { name: 'config' }, bot: '17' });
    expect(classifyKey('bot:17:configx', ns)).toBeUndefined();
    expect(classifyKey('user:1', ns)).toBeUndefined();
    expect(ns[0]!.glob).toBe('bot:*:session:*');
  });

  it('groups unknown keys by prefix with ids as *', () => {
    expect(keyPrefix('tmp:123')).toBe('tmp:*');
    expect(keyPrefix('bot:12:feature:99:x')).toBe('bot:*:feature:*');
    expect(keyPrefix('lonely')).toBe('lonely');
  });

  it('share estimates: exact when complete, margin shrinks with hits, rule of three at zero', () => {
    expect(shareEstimate(30, 100, 100)).toEqual({ estimate: 30, margin: 0 });
    const a = shareEstimate(2000, 10_000, 1_000_000);
    expect(a.estimate).toBe(200_000);
    expect(a.margin).toBeGreaterThan(0.03);
    expect(a.margin).toBeLessThan(0.04);
    expect(shareEstimate(8000, 40_000, 1_000_000).margin).toBeLessThan(a.margin);
    expect(shareEstimate(0, 1000, 10_000).margin).toBe(Infinity);
  });

  it('quantiles, INFO parsing and window counters', () => {
    expect(quantile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.5)).toBe(5);
    expect(quantile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.95)).toBe(10);
    expect(quantile([], 0.5)).toBeNull();
    const info = parseInfo(
      '# Stats\r\nkeyspace_hits:10\r\nkeyspace_misses:5\r\n# Keyspace\r\ndb0:keys=3,expires=1,avg_ttl=0\r\n',
    );
    expect(info.keyspace_hits).toBe('10');
    const w = windowCounters(
      { hits: 10, misses: 5, evicted: 0, expired: 0 },
      { hits: 100, misses: 15, evicted: 2, expired: 1 },
    );
    expect(hitRatio(w)).toMatchObject({ hits: 90, misses: 10, lookups: 100, ratio: 0.9 });
    // A restart in between: the counters fell, so the second read is the window.
    expect(
      windowCounters({ hits: 100, misses: 5, evicted: 0, expired: 0 }, { hits: 3, misses: 1, evicted: 0, expired: 0 })
        .hits,
    ).toBe(3);
  });

  it('the allow-list holds reads only', () => {
    expect(commandName(['memory', 'usage', 'k'])).toBe('MEMORY USAGE');
    expect(commandName(['CONFIG', 'SET', 'x', 'y'])).toBe('CONFIG SET');
    for (const w of ['SET', 'DEL', 'FLUSHALL', 'CONFIG SET', 'EXPIRE', 'KEYS', 'PERSIST', 'UNLINK'])
      expect(READ_COMMANDS.has(w)).toBe(false);
  });

  it('seeded keys are deterministic and carry the policy TTL', () => {
    const s = compileNamespace({ name: 'sessions', pattern: 'bot:{bot}:session:*', ttlMs: 300_000 });
    const a = namespaceKeys(s, 5, 100, 1),
      b = namespaceKeys(s, 5, 100, 1);
    expect(a).toEqual(b);
    expect(a.every((k) => k.ttlMs! > 0 && k.ttlMs! <= 300_000 && /^bot:[1-5]:session:\d+$/.test(k.key))).toBe(true);
    expect(namespaceKeys(ns[1]!, 5, 100, 1).map((k) => k.key)).toEqual([
      'bot:1:config',
      'bot:2:config',
      'bot:3:config',
      'bot:4:config',
      'bot:5:config',
    ]);
  });
});
