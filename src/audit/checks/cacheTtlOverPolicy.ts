// cache-ttl-over-policy: keys whose remaining TTL is longer than the namespace's maxTtl (or
// ttl): they were written with a longer TTL than the design allows, so stale data lives longer.
import { fmt, type CacheCheck } from './types.js';
import { formatDuration } from '../../duration.js';

export const cacheTtlOverPolicy: CacheCheck = {
  kind: 'cache',
  code: 'cache-ttl-over-policy',
  severity: 'warning',
  summary: 'remaining TTLs within the namespace policy (maxTtl, default ttl)',
  check: (tier) => {
    const judged = tier.namespaces.filter((n) => (n.policy.maxTtlMs ?? n.policy.ttlMs) !== undefined);
    if (judged.length === 0)
      return [{ status: 'skip', subject: 'cache', message: 'no namespace declares a ttl or maxTtl' }];
    return judged.map((n) => {
      const subject = `cache:${n.name}`;
      const max = (n.policy.maxTtlMs ?? n.policy.ttlMs)!;
      if (n.overPolicy === 0) {
        return {
          status: 'pass',
          subject,
          message: `namespace ${n.name}: no remaining TTL over ${formatDuration(max)} among ${fmt(n.detailed)} keys read`,
        };
      }
      return {
        status: 'fail',
        subject,
        message: `namespace ${n.name} (${n.pattern}): ${fmt(n.overPolicy)} of ${fmt(n.detailed)} keys read expire later than the policy's ${formatDuration(max)} (longest ${formatDuration(n.maxTtlSeenMs ?? 0)}), e.g. ${n.overPolicyExample}: stale data outlives the design. Write these keys with the namespace's TTL, or raise maxTtl if the design changed.`,
      };
    });
  },
};
