// cost-regression: the planner's estimated total cost rose more than audit.costRegression
// (default 25 %) over the committed baseline. Compared only against a baseline from the same
// PostgreSQL major version; a query without a baseline entry is reported, not failed.
import { fmt, type QueryCheck } from './types.js';

export const costRegression: QueryCheck = {
  kind: 'query',
  code: 'cost-regression',
  severity: 'error',
  summary: 'estimated cost within audit.costRegression of the baseline',
  check: ({ run, baseline, baselineNote, settings }) => {
    if (!run.plan) return undefined;
    if (!baseline)
      return {
        status: 'skip',
        message: `${baselineNote ?? 'no baseline'}: cost ${fmt(run.plan.totalCost)} not compared`,
      };
    const before = baseline.cost;
    const after = run.plan.totalCost;
    const limit = before * (1 + settings.costRegression);
    const change =
      before > 0 ? `${after >= before ? '+' : ''}${fmt(((after - before) / before) * 100, 0)} %` : 'new cost';
    if (after > limit && after - before > 0.01) {
      return {
        status: 'fail',
        message: `query "${run.name}": estimated cost ${fmt(before)} -> ${fmt(after)} (${change}, limit +${fmt(settings.costRegression * 100, 0)} %). Plan now: ${run.plan.shape}. Fix the regression, or accept it with --update-baseline.`,
      };
    }
    return { status: 'pass', message: `cost ${fmt(before)} -> ${fmt(after)} (${change})` };
  },
};
