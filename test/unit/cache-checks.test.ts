// Every cache check with an ok and a failing case, on plain figures (checks never touch Redis).
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { CACHE_CHECKS } from '../../src/audit/checks/index.js';
import { fakeNamespace, fakeTier } from '../fixtures/cache/tier.js';

const check = (code: string) => CACHE_CHECKS.find((c) => c.code === code)!;
const statuses = (code: string, tier: ReturnType<typeof fakeTier>) =>
  check(code)
    .check(tier)
    .map((o) => o.status);

describe('cache checks', () => {
  it('cache-ttl-missing: passes when every key read has a TTL, fails naming namespace and an example key', () => {
    expect(statuses('cache-ttl-missing', fakeTier())).toEqual(['pass']);
    const bad = fakeTier({
      namespaces: [fakeNamespace('session', { noTtl: 40, noTtlShare: 0.1, noTtlExample: 'bot:7:session:42' })],
    });
    const [o] = check('cache-ttl-missing').check(bad);
    expect(o!.status).toBe('fail');
    expect(o!.subject).toBe('cache:session');
    expect(o!.message).toContain('namespace session');
    expect(o!.message).toContain('e.g. bot:7:session:42');
    expect(o!.message).toContain('about 100 keys');
    expect(statuses('cache-ttl-missing', fakeTier({ namespaces: [fakeNamespace('x', { policy: {} })] }))).toEqual([
      'skip',
    ]);
  });

  it('cache-ttl-over-policy: remaining TTLs within ttl pass, longer ones warn with an example', () => {
    expect(statuses('cache-ttl-over-policy', fakeTier())).toEqual(['pass']);
    const over = fakeTier({
      namespaces: [
        fakeNamespace('session', { overPolicy: 3, overPolicyExample: 'bot:1:session:9', maxTtlSeenMs: 3_600_000 }),
      ],
    });
    const [o] = check('cache-ttl-over-policy').check(over);
    expect(o!.status).toBe('fail');
    expect(o!.message).toContain("expire later than the policy's 5m 0s");
    expect(o!.message).toContain('bot:1:session:9');
  });

  it('cache-unknown-keys: none passes; unknown prefixes are listed with an example', () => {
    expect(statuses('cache-unknown-keys', fakeTier())).toEqual(['pass']);
    const u = fakeTier({
      unknown: { keys: 120, share: 0.12, prefixes: [{ prefix: 'tmp:*', keys: 120, sampled: 12, example: 'tmp:99' }] },
    });
    const [o] = check('cache-unknown-keys').check(u);
    expect(o!.status).toBe('fail');
    expect(o!.message).toContain('tmp:* (~120, e.g. tmp:99)');
  });

  it('cache-hit-ratio-low: not enough data below minLookups, pass above the target, fail below it', () => {
    const [few] = check('cache-hit-ratio-low').check(fakeTier());
    expect(few!.status).toBe('skip');
    expect(few!.message).toMatch(/^not enough data: 0 lookups/);
    const win = (hits: number, misses: number) =>
      fakeTier({
        window: {
          hits,
          misses,
          evicted: 0,
          expired: 0,
          lookups: hits + misses,
          ratio: hits / (hits + misses),
          ms: 5000,
          ownLookups: 10,
        },
      });
    expect(statuses('cache-hit-ratio-low', win(950, 50))).toEqual(['pass']);
    const [low] = check('cache-hit-ratio-low').check(win(700, 300));
    expect(low!.status).toBe('fail');
    expect(low!.message).toContain('keyspace hit ratio 70 % over the window (700 hits, 300 misses) < 90 %');
  });

  it('cache-eviction-policy: allkeys-* passes, noeviction and volatile-* warn, no maxmemory or unknown policy is not judged', () => {
    expect(statuses('cache-eviction-policy', fakeTier())).toEqual(['pass']);
    expect(check('cache-eviction-policy').check(fakeTier({ evictionPolicy: 'noeviction' }))[0]!.message).toContain(
      'every write fails',
    );
    expect(check('cache-eviction-policy').check(fakeTier({ evictionPolicy: 'volatile-lru' }))[0]!.message).toContain(
      'evicts only keys with a TTL',
    );
    expect(statuses('cache-eviction-policy', fakeTier({ evictionPolicy: 'noeviction', maxmemoryBytes: 0 }))).toEqual([
      'skip',
    ]);
    expect(
      statuses(
        'cache-eviction-policy',
        fakeTier({ evictionPolicy: null, policySource: 'unknown: CONFIG GET was refused' }),
      ),
    ).toEqual(['skip']);
  });

  it('cache-bot-imbalance: a balanced namespace passes, one bot over maxBotShare is named, too few keys is not judged', () => {
    expect(statuses('cache-bot-imbalance', fakeTier())).toEqual(['pass']);
    const heavy = fakeNamespace('session', {
      bots: [{ bot: '42', keys: 800, bytes: null, share: 0.8, sampled: 320 }],
      botCount: 3,
    });
    const [o] = check('cache-bot-imbalance').check(fakeTier({ namespaces: [heavy] }));
    expect(o!.status).toBe('fail');
    expect(o!.message).toContain('bot 42 holds 80 % of namespace session');
    expect(
      statuses('cache-bot-imbalance', fakeTier({ namespaces: [fakeNamespace('session', { sampled: 10 })] })),
    ).toEqual(['skip']);
  });

  it('every cache check has a doc section in docs/cache.md', () => {
    const doc = readFileSync(new URL('../../docs/cache.md', import.meta.url), 'utf8');
    for (const c of CACHE_CHECKS) expect(doc).toContain(`### ${c.code} (${c.severity})`);
  });
});
