// generic-plan-differs: the timed runs executed the prepared statement's cached generic plan
// (the server's plan cache switches to it after five executions unless it looks costlier) and
// its shape differs from the custom plan EXPLAIN ANALYZE showed for the first parameters. The
// application's prepared statements run the generic plan, so the plan the other checks judged
// is not the plan production runs. A warning: the generic plan may be fine for most values.
// https://www.postgresql.org/docs/current/sql-prepare.html#SQL-PREPARE-NOTES
import { fmt, type QueryCheck } from './types.js';

export const genericPlanDiffers: QueryCheck = {
  kind: 'query',
  code: 'generic-plan-differs',
  severity: 'warning',
  summary: "a prepared statement's cached generic plan has the shape of the custom plan checked",
  check: ({ run }) => {
    const generic = run.timedPlan?.generic;
    if (!generic || !run.plan) return undefined;
    if (generic.fingerprint === run.plan.fingerprint)
      return { status: 'pass', message: `timed on the cached generic plan, the plan checked (${run.plan.shape})` };
    return {
      status: 'fail',
      message:
        `query "${run.name}" was timed on the prepared statement's cached generic plan, ${generic.shape} ` +
        `(cost ${fmt(generic.totalCost)}), not the custom plan checked, ${run.plan.shape} ` +
        `(cost ${fmt(run.plan.totalCost)}): the application's prepared statements run the generic plan. ` +
        'Fix: compare the two for the values that matter; ' +
        'if the custom plan is the one wanted, set plan_cache_mode=force_custom_plan for this statement ' +
        "(SET LOCAL in its transaction, or the role's setting) or send it unprepared, " +
        'or give the planner what makes the generic plan right (statistics, an index that serves every value).',
    };
  },
};
