// cache-ttl-missing: keys without a TTL in a namespace whose policy gives one. They never
// expire, so memory grows until eviction starts (or writes fail under noeviction) and the hit
// ratio falls. Judged on the keys whose PTTL was read; the share is scaled to the namespace.
// https://redis.io/docs/latest/commands/expire/
import { fmt, type CacheCheck } from './types.js';

export const cacheTtlMissing: CacheCheck = {
  kind: 'cache',
  code: 'cache-ttl-missing',
  severity: 'error',
  summary: 'every key of a namespace with a TTL policy has a TTL',
  check: (tier) => {
    const withPolicy = tier.namespaces.filter((n) => n.policy.ttlMs !== undefined || n.policy.maxTtlMs !== undefined);
    if (withPolicy.length === 0) return [{ status: 'skip', subject: 'cache', message: 'no namespace declares a ttl' }];
    return withPolicy.map((n) => {
      const subject = `cache:${n.name}`;
      if (n.detailed === 0) return { status: 'pass', subject, message: `namespace ${n.name}: no keys` };
      if (n.noTtl === 0)
        return { status: 'pass', subject, message: `namespace ${n.name}: all ${fmt(n.detailed)} keys read have a TTL` };
      const est = Math.round((n.noTtlShare ?? 0) * n.keys);
      return {
        status: 'fail',
        subject,
        message: `namespace ${n.name} (${n.pattern}): ${fmt(n.noTtl)} of ${fmt(n.detailed)} keys read have no TTL (${fmt((n.noTtlShare ?? 0) * 100, 1)} %, about ${fmt(est)} keys), e.g. ${n.noTtlExample}: they never expire, so memory grows until eviction starts. Write them with SET ... PX/EX (or EXPIRE after writing) per the ${n.name} policy.`,
      };
    });
  },
};
