// replica-plan-differs: a query's plan shape on a replica differs from the primary's (other
// statistics, settings or indexes, e.g. an index still building on the primary). A warning:
// the replica may serve that query at another cost than the audit measured on the primary.
import type { QueryRun } from '../runner.js';
import type { Outcome, Severity } from './types.js';

export const replicaPlanDiffers = {
  kind: 'fleet' as const,
  code: 'replica-plan-differs',
  severity: 'warning' as Severity,
  summary: 'each query plans alike on the primary and on every replica',
  check(primary: QueryRun, replica: QueryRun, node: string): Outcome | undefined {
    if (!primary.plan || !replica.plan) return undefined;
    if (primary.plan.fingerprint === replica.plan.fingerprint) {
      return {
        status: 'pass',
        subject: `${node}:${primary.name}`,
        message: `plan ${primary.plan.fingerprint} on primary and ${node}`,
      };
    }
    return {
      status: 'fail',
      subject: `${node}:${primary.name}`,
      message:
        `query "${primary.name}" plans differently on ${node}: primary ${primary.plan.shape}; ${node} ${replica.plan.shape}. ` +
        'Compare statistics (ANALYZE runs on the primary and replicates), settings (work_mem, random_page_cost) and indexes between the nodes.',
    };
  },
};
