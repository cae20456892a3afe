// query-error: the query failed on the server (syntax the parser allowed, a missing column,
// lock_timeout, a read-only violation, params-from returning no rows). Shown with the code,
// message, hint and file:line:column of the statement.
import type { QueryCheck } from './types.js';

export const queryError: QueryCheck = {
  kind: 'query',
  code: 'query-error',
  severity: 'error',
  summary: 'the query ran without a PostgreSQL error',
  check: ({ run }) => {
    if (run.status === 'not-populated') return undefined;
    if (run.status !== 'error') return { status: 'pass', message: 'ran without error' };
    const e = run.error!;
    const what =
      e.code === '55P03'
        ? ' (waited longer than lock_timeout for a lock another session holds)'
        : e.code === '25006'
          ? ' (the statement writes; add -- allow-writes)'
          : '';
    return { status: 'fail', message: `${e.lines.join('\n')}${what}`, line: e.line, column: e.column };
  },
};
