// no-seq-scan: `-- expect: no-seq-scan` forbids any sequential scan in the plan, whatever the
// table's size (seq-scan-large judges by size for every query).
import type { QueryCheck } from './types.js';

export const noSeqScan: QueryCheck = {
  kind: 'query',
  code: 'no-seq-scan',
  severity: 'error',
  summary: '-- expect: no-seq-scan gets a plan without sequential scans',
  check: ({ run }) => {
    if (!run.expect.some((f) => f.kind === 'no-seq-scan') || !run.plan) return undefined;
    const line = run.annotationLines.expect;
    const seq = run.plan.seqScans;
    if (seq.length === 0) return { status: 'pass', line, message: 'no sequential scan' };
    return {
      status: 'fail',
      line,
      message: `query "${run.name}" expects no sequential scan; the plan has ${seq.map((s) => s.node).join(', ')}. Add or restore an index for its WHERE clause.`,
    };
  },
};
