// load-over-budget: a query's p95 under load is above its tier budget. The p95 counts pool
// wait too: a request that waits 200 ms for a connection is 200 ms late for its user.
import { modelText, ms, queryLoads, type LoadCheck, type LoadOutcome } from './types.js';

export const loadOverBudget: LoadCheck = {
  code: 'load-over-budget',
  severity: 'error',
  summary: "p95 under load is above the query's budget",
  check({ load, budgets }) {
    if (!load) return [];
    return queryLoads(load).flatMap((q): LoadOutcome[] => {
      const b = budgets[q.name];
      if (!b) return [];
      if (q.requests === 0)
        return [{ status: 'skip', subject: q.name, message: 'no request finished during the load run' }];
      const split = `pool wait p95 ${ms(q.poolWait.p95)}, on the connection p95 ${ms(q.connection.p95)}`;
      const over = q.latency.p95 > b.budgetMs;
      return [
        {
          status: over ? 'fail' : 'pass',
          subject: q.name,
          message:
            `p95 ${ms(q.latency.p95)} at ${modelText(load)} ${over ? 'is above' : 'is within'} the ${b.budgetSource} budget ${ms(b.budgetMs)} (${split})` +
            (over && q.poolWait.p95 > q.connection.p95 ? '; most of it is waiting for a connection' : ''),
        },
      ];
    });
  },
};
