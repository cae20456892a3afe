// plan-changed: the plan's shape (node types, relations, index names; not costs) differs from
// the baseline's. Often harmless (a new index), sometimes the start of a regression.
import type { QueryCheck } from './types.js';

export const planChanged: QueryCheck = {
  kind: 'query',
  code: 'plan-changed',
  severity: 'warning',
  summary: 'plan shape unchanged since the baseline',
  check: ({ run, baseline, baselineNote }) => {
    if (!run.plan) return undefined;
    if (!baseline) return { status: 'skip', message: `${baselineNote ?? 'no baseline'}: plan shape not compared` };
    if (baseline.plan.fingerprint === run.plan.fingerprint)
      return { status: 'pass', message: `plan ${run.plan.fingerprint} unchanged` };
    return {
      status: 'fail',
      message: `query "${run.name}" plan shape changed: was ${baseline.plan.shape}; now ${run.plan.shape}. Review it, then accept with --update-baseline.`,
    };
  },
};
