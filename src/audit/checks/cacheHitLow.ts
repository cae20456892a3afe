// cache-hit-low: the query's shared-buffer hit ratio (EXPLAIN BUFFERS: hit / (hit + read))
// below audit.minCacheHitRatio. Judged only past audit.minBlocks blocks, and never for the
// cold tier, whose buffers the audit evicts on purpose.
import { fmt, type QueryCheck } from './types.js';

export const cacheHitLow: QueryCheck = {
  kind: 'query',
  code: 'cache-hit-low',
  severity: 'warning',
  summary: 'per-query cache hit ratio at least audit.minCacheHitRatio',
  check: ({ run, settings }) => {
    if (!run.plan?.analyzed) return undefined;
    if (run.cold?.mode === 'evicted')
      return { status: 'skip', message: 'cold tier: shared buffers evicted on purpose' };
    const { sharedHit: hit, sharedRead: read } = run.plan;
    const total = hit + read;
    if (total < Math.max(1, settings.minBlocks))
      return {
        status: 'skip',
        message: `not enough data: ${fmt(total)} blocks < audit.minBlocks ${fmt(settings.minBlocks)}`,
      };
    const ratio = hit / total;
    if (ratio < settings.minCacheHitRatio) {
      return {
        status: 'fail',
        message: `query "${run.name}" hit ratio ${fmt(ratio * 100, 1)} % (${fmt(read)} of ${fmt(total)} blocks read from disk) < ${fmt(settings.minCacheHitRatio * 100, 0)} %: its working set does not fit in shared_buffers. Make it read fewer pages (an index), or give the server more memory.`,
      };
    }
    return { status: 'pass', message: `hit ratio ${fmt(ratio * 100, 1)} % over ${fmt(total)} blocks` };
  },
};
