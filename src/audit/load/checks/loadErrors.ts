// load-errors: any request of the load run failed or timed out (statement_timeout,
// lock_timeout, or still running when the run ended and cancelled).
import { modelText, queryLoads, type LoadCheck } from './types.js';

export const loadErrors: LoadCheck = {
  code: 'load-errors',
  severity: 'error',
  summary: 'a request failed or timed out under load',
  check({ load }) {
    if (!load) return [];
    return queryLoads(load).map((q) => {
      if (q.errors === 0)
        return {
          status: 'pass' as const,
          subject: q.name,
          message: `${q.requests.toLocaleString('en-US')} requests at ${modelText(load)}, no error`,
        };
      const samples = q.errorSamples.map((e) => `${e.code}: ${e.message} (${e.count}x)`).join('; ');
      return {
        status: 'fail' as const,
        subject: q.name,
        message:
          `${q.errors.toLocaleString('en-US')} of ${q.requests.toLocaleString('en-US')} requests failed at ${modelText(load)}` +
          ` (${q.timeouts.toLocaleString('en-US')} timeouts): ${samples}`,
      };
    });
  },
};
