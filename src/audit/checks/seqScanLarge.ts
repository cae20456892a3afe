// seq-scan-large: a sequential scan on a relation with more rows (pg_class.reltuples) than
// audit.seqScanRows. Fine today on a small CI database, a full-table read in production.
import { fmt, type QueryCheck } from './types.js';

export const seqScanLarge: QueryCheck = {
  kind: 'query',
  code: 'seq-scan-large',
  severity: 'error',
  summary: 'no sequential scan on a relation larger than audit.seqScanRows',
  check: ({ run, settings }) => {
    if (!run.plan) return undefined;
    const large = run.plan.seqScans.filter((s) => (s.relationRows ?? 0) > settings.seqScanRows);
    if (large.length === 0)
      return { status: 'pass', message: `no sequential scan over ${fmt(settings.seqScanRows)} rows` };
    return {
      status: 'fail',
      message: `query "${run.name}" reads ${large.map((s) => `${s.node} (${fmt(s.relationRows ?? 0, 0)} rows)`).join(', ')}: more than audit.seqScanRows ${fmt(settings.seqScanRows)}. Add an index for its WHERE clause.`,
    };
  },
};
