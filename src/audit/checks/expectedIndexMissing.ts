// expected-index-missing: the query declares `-- expect: index NAME` and the plan does not
// use that index (dropped, invalid, or no longer chosen). Names the new plan node.
import { scanList, type QueryCheck } from './types.js';

export const expectedIndexMissing: QueryCheck = {
  kind: 'query',
  code: 'expected-index-missing',
  severity: 'error',
  summary: 'every index named in -- expect: index NAME is used by the plan',
  check: ({ run }) => {
    const wanted = run.expect.flatMap((f) => (f.kind === 'index' ? [f.index] : []));
    if (wanted.length === 0 || !run.plan) return undefined;
    const missing = wanted.filter((i) => !run.plan!.indexesUsed.includes(i));
    const line = run.annotationLines.expect;
    if (missing.length === 0) return { status: 'pass', message: `uses ${wanted.join(', ')}`, line };
    return {
      status: 'fail',
      line,
      message: `query "${run.name}" no longer uses index ${missing.join(', ')}: the plan reads ${scanList(run)}. Restore the index (or check it is valid), or update -- expect:.`,
    };
  },
};
