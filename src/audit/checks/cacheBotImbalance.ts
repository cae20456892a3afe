// cache-bot-imbalance: one bot holding more than cache.maxBotShare of a namespace's keys
// crowds the other bots out of the memory they share (under eviction, their entries go
// first). Judged on namespaces with {bot} and enough sampled keys to tell.
import { fmt, type CacheCheck } from './types.js';

/** Keys of a namespace in the sample below which a share is not judged. */
export const MIN_BOT_SAMPLE = 50;

export const cacheBotImbalance: CacheCheck = {
  kind: 'cache',
  code: 'cache-bot-imbalance',
  severity: 'warning',
  summary: 'no bot holds more than cache.maxBotShare of a namespace',
  check: (tier) => {
    const max = tier.settings.maxBotShare;
    const judged = tier.namespaces.filter((n) => n.pattern.includes('{bot}'));
    if (judged.length === 0) return [{ status: 'skip', subject: 'cache', message: 'no namespace pattern has {bot}' }];
    return judged.map((n) => {
      const subject = `cache:${n.name}`;
      if (n.sampled < MIN_BOT_SAMPLE)
        return {
          status: 'skip',
          subject,
          message: `not enough data: ${fmt(n.sampled)} keys of ${n.name} sampled < ${MIN_BOT_SAMPLE}`,
        };
      if (n.botCount < 2) return { status: 'skip', subject, message: `namespace ${n.name}: one bot only` };
      const top = n.bots[0]!;
      if (top.share > max) {
        return {
          status: 'fail',
          subject,
          message: `bot ${top.bot} holds ${fmt(top.share * 100, 1)} % of namespace ${n.name} (~${fmt(top.keys)} of ${fmt(n.keys)} keys) > ${fmt(max * 100, 0)} %: it crowds the other ${fmt(n.botCount - 1)} bots out of the shared memory. Give it a shorter TTL or its own Redis / key budget.`,
        };
      }
      return {
        status: 'pass',
        subject,
        message: `largest bot ${top.bot} holds ${fmt(top.share * 100, 1)} % of ${n.name}`,
      };
    });
  },
};
