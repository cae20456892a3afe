// index-only-heap-fetches: `-- expect: index-only` asks for an Index Only Scan that does not
// visit the heap. Heap fetches mean the visibility map is behind (VACUUM has not run since
// the rows changed), so the "index-only" scan reads the table anyway.
// https://www.postgresql.org/docs/current/indexes-index-only-scans.html
import { fmt, scanList, type QueryCheck } from './types.js';

export const indexOnlyHeapFetches: QueryCheck = {
  kind: 'query',
  code: 'index-only-heap-fetches',
  severity: 'error',
  summary: '-- expect: index-only gets an Index Only Scan with 0 heap fetches',
  check: ({ run }) => {
    if (!run.expect.some((f) => f.kind === 'index-only') || !run.plan) return undefined;
    const line = run.annotationLines.expect;
    const plan = run.plan;
    if (plan.indexOnlyScans.length === 0) {
      return {
        status: 'fail',
        line,
        message: `query "${run.name}" expects an index-only scan; the plan reads ${scanList(run)}. Add the selected columns to the index (INCLUDE), or drop index-only from -- expect:.`,
      };
    }
    if (!plan.analyzed)
      return { status: 'skip', line, message: 'heap fetches unknown: the query did not finish under EXPLAIN ANALYZE' };
    if (plan.heapFetches > 0) {
      const tables = [...new Set(plan.indexOnlyScans.map((s) => s.relation))].join(', ');
      return {
        status: 'fail',
        line,
        message: `${plan.indexOnlyScans.map((s) => s.node).join(', ')} fetched ${fmt(plan.heapFetches)} rows from the heap: the visibility map is behind. Run VACUUM ${tables} (and check autovacuum keeps up).`,
      };
    }
    return { status: 'pass', line, message: `${plan.indexOnlyScans.map((s) => s.node).join(', ')}, 0 heap fetches` };
  },
};
