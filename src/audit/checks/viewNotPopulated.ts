// view-not-populated: the query reads a materialized view created WITH NO DATA (or never
// refreshed). The audit never refreshes it itself: a refresh is a write.
import type { QueryCheck } from './types.js';

export const viewNotPopulated: QueryCheck = {
  kind: 'query',
  code: 'view-not-populated',
  severity: 'error',
  summary: 'the materialized views the query reads are populated',
  check: ({ run }) => {
    if (run.status !== 'not-populated') return undefined;
    const view = run.error?.relation ? ` ${run.error.relation}` : '';
    return {
      status: 'fail',
      message: `view${view} not populated: run dbopt refresh-views (the audit never refreshes views itself)`,
    };
  },
};
