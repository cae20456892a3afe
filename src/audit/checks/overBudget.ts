// over-budget: p95 of the timed runs above the query's budget (its tier's, or -- budget:).
// A run that hits the statement_timeout is over budget too, reported as "> N ms".
import { ms, type QueryCheck } from './types.js';

export const overBudget: QueryCheck = {
  kind: 'query',
  code: 'over-budget',
  severity: 'error',
  summary: 'p95 latency within the tier budget',
  check: ({ run }) => {
    const budget = `${ms(run.budgetMs)} (${run.budgetSource})`;
    if (run.status === 'timeout') {
      return {
        status: 'fail',
        message: `over budget: > ${ms(run.statementTimeoutMs)} (a run hit the statement_timeout; budget ${budget}). Make the query use an index, or raise its budget.`,
      };
    }
    if (run.status !== 'measured' || !run.latency) return undefined;
    const l = run.latency;
    const cold = run.cold?.mode === 'unsupported' ? ' (measured warm: cold not supported here)' : '';
    if (l.p95 > run.budgetMs) {
      return {
        status: 'fail',
        message: `over budget: p95 ${ms(l.p95)} > ${budget}; p50 ${ms(l.p50)}, max ${ms(l.max)} over ${l.runs} runs${cold}. Check the plan below, or raise the budget.`,
      };
    }
    return { status: 'pass', message: `p95 ${ms(l.p95)} within ${budget}${cold}` };
  },
};
