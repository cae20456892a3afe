// cache-unknown-keys: keys that match no declared namespace. Nothing checks their TTL or
// size, so a deploy writing a new kind of key goes unseen. Grouped by prefix.
import { fmt, type CacheCheck } from './types.js';

export const cacheUnknownKeys: CacheCheck = {
  kind: 'cache',
  code: 'cache-unknown-keys',
  severity: 'warning',
  summary: 'every key matches a declared namespace',
  check: (tier) => {
    if (tier.unknown.prefixes.length === 0)
      return [{ status: 'pass', subject: 'cache', message: 'every key read matches a namespace' }];
    const top = tier.unknown.prefixes
      .slice(0, 5)
      .map((p) => `${p.prefix} (~${fmt(p.keys)}, e.g. ${p.example})`)
      .join(', ');
    return [
      {
        status: 'fail',
        subject: 'cache',
        message: `about ${fmt(tier.unknown.keys)} keys (${fmt(tier.unknown.share * 100, 1)} % of those read) match no namespace: ${top}. Declare them in cache.namespaces with their TTL, or stop writing them.`,
      },
    ];
  },
};
