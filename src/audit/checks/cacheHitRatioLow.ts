// cache-hit-ratio-low: the keyspace hit ratio over the run's window (INFO read twice, minus
// dbopt's own lookups) below cache.minHitRatio. Judged only past cache.minLookups lookups.
// Redis keeps global counters only, so there is no per-namespace hit ratio to judge.
// https://redis.io/docs/latest/commands/info/
import { fmt, type CacheCheck } from './types.js';

export const cacheHitRatioLow: CacheCheck = {
  kind: 'cache',
  code: 'cache-hit-ratio-low',
  severity: 'warning',
  summary: 'keyspace hit ratio over the window at least cache.minHitRatio',
  check: (tier) => {
    const w = tier.window;
    const min = tier.settings.minHitRatio;
    const since =
      tier.sinceStart.ratio === null
        ? 'no lookups since start'
        : `${fmt(tier.sinceStart.ratio * 100, 1)} % since start`;
    if (w.lookups < Math.max(1, tier.settings.minLookups)) {
      return [
        {
          status: 'skip',
          subject: 'cache',
          message: `not enough data: ${fmt(w.lookups)} lookups over the ${fmt(w.ms / 1000, 1)} s window < cache.minLookups ${fmt(tier.settings.minLookups)} (${since}); lengthen cache.window / --window`,
        },
      ];
    }
    const ratio = w.ratio!;
    if (ratio < min) {
      return [
        {
          status: 'fail',
          subject: 'cache',
          message: `keyspace hit ratio ${fmt(ratio * 100, 1)} % over the window (${fmt(w.hits)} hits, ${fmt(w.misses)} misses) < ${fmt(min * 100, 0)} %: the database takes the reads the cache should absorb. Check for keys expiring too early, evictions (${fmt(w.evicted)} over the window) and missing writes after misses.`,
        },
      ];
    }
    return [
      {
        status: 'pass',
        subject: 'cache',
        message: `keyspace hit ratio ${fmt(ratio * 100, 1)} % over ${fmt(w.lookups)} lookups (${since})`,
      },
    ];
  },
};
