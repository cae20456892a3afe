// cache-eviction-policy: with a memory limit, noeviction makes writes fail once memory is
// full, and volatile-* evicts only keys with a TTL, so the keys that leaked without one stay
// and crowd out the rest. A cache whose every key has a TTL by design wants allkeys-lru/lfu.
// Without maxmemory Redis never evicts and the policy is not in effect.
// https://redis.io/docs/latest/develop/reference/eviction/
import type { CacheCheck } from './types.js';

export const cacheEvictionPolicy: CacheCheck = {
  kind: 'cache',
  code: 'cache-eviction-policy',
  severity: 'warning',
  summary: 'an allkeys-* eviction policy when maxmemory is set',
  check: (tier) => {
    const p = tier.evictionPolicy;
    if (p === null) return [{ status: 'skip', subject: 'cache', message: `eviction policy ${tier.policySource}` }];
    if (!tier.maxmemoryBytes)
      return [
        { status: 'skip', subject: 'cache', message: `no maxmemory set: Redis never evicts, so ${p} is not in effect` },
      ];
    if (p === 'noeviction') {
      return [
        {
          status: 'fail',
          subject: 'cache',
          message:
            'maxmemory-policy noeviction: once maxmemory is reached every write fails (OOM) instead of dropping old cache entries. Set maxmemory-policy allkeys-lru (or allkeys-lfu).',
        },
      ];
    }
    if (p.startsWith('volatile-')) {
      return [
        {
          status: 'fail',
          subject: 'cache',
          message: `maxmemory-policy ${p} evicts only keys with a TTL: keys written without one are never evicted and crowd out the rest. Set maxmemory-policy allkeys-lru (or allkeys-lfu).`,
        },
      ];
    }
    return [{ status: 'pass', subject: 'cache', message: `maxmemory-policy ${p}` }];
  },
};
