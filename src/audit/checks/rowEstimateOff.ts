// row-estimate-off: a plan node's estimated rows are 10x or more off the actual rows (per
// loop; nodes under a Limit that stopped early, and nodes under 100 rows, are not judged).
// Usually stale or missing statistics: the planner picks plans for data that is not there.
// https://www.postgresql.org/docs/current/planner-stats.html
import { fmt, type QueryCheck } from './types.js';

export const ESTIMATE_FACTOR = 10;

export const rowEstimateOff: QueryCheck = {
  kind: 'query',
  code: 'row-estimate-off',
  severity: 'warning',
  summary: 'planner row estimates within 10x of the actual rows',
  check: ({ run }) => {
    if (!run.plan?.analyzed) return undefined;
    const w = run.plan.worstEstimate;
    if (!w || w.ratio < ESTIMATE_FACTOR)
      return { status: 'pass', message: w ? `worst estimate ${fmt(w.ratio, 1)}x (${w.node})` : 'estimates close' };
    const tables = [...new Set(run.plan.scans.map((s) => s.relation))].join(', ');
    return {
      status: 'fail',
      message: `query "${run.name}": ${w.node} estimated ${fmt(w.estimated, 0)} rows, got ${fmt(w.actual, 0)} (${fmt(w.ratio, 0)}x off): statistics are stale or too coarse. Run ANALYZE ${tables} (or raise its statistics target).`,
    };
  },
};
