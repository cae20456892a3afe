// buffers-up: the query touches more shared buffers (hit + read, from EXPLAIN BUFFERS) than
// the baseline by more than audit.costRegression and at least 8 blocks: more pages read per
// call, usually a plan or data-layout change that latency on a small database hides.
import { fmt, type QueryCheck } from './types.js';

export const MIN_BUFFER_RISE = 8;

export const buffersUp: QueryCheck = {
  kind: 'query',
  code: 'buffers-up',
  severity: 'warning',
  summary: 'shared buffers touched within audit.costRegression of the baseline',
  check: ({ run, baseline, baselineNote, settings }) => {
    if (!run.plan?.analyzed) return undefined;
    const now = run.plan.sharedHit + run.plan.sharedRead;
    if (!baseline)
      return { status: 'skip', message: `${baselineNote ?? 'no baseline'}: ${fmt(now)} buffers not compared` };
    const before = baseline.buffers.total;
    if (now > before * (1 + settings.costRegression) && now - before >= MIN_BUFFER_RISE) {
      return {
        status: 'fail',
        message: `query "${run.name}" touches ${fmt(now)} shared buffers, baseline ${fmt(before)}: more pages per call. Check the plan, or accept with --update-baseline.`,
      };
    }
    return { status: 'pass', message: `${fmt(now)} buffers (baseline ${fmt(before)})` };
  },
};
