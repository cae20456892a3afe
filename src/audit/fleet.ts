// dbopt audit --node all|NAME: the same audit on each selected node, one node after the other
// (auditing them at once would make each measure the other's load), then replication lag and
// the fleet checks (replica-lag-high, replica-plan-differs). The primary alone writes the
// baseline; every node is compared with it.
import type { FleetNode } from '../db/fleet.js';
import type { ConnectionTarget } from '../db/connection.js';
import { audit, type AuditOptions, type AuditResult, type Finding, type FindingStatus } from './index.js';
import { replicationFacts, type ReplicationFacts } from '../catalog/replication.js';
import { replicaLagHigh } from './checks/replicaLagHigh.js';
import { replicaPlanDiffers } from './checks/replicaPlanDiffers.js';
import type { Outcome, Severity } from './checks/types.js';

export interface FleetAuditOptions extends Omit<AuditOptions, 'target'> {
  nodes: FleetNode[];
  /** The primary through `url`, for its WAL position. */
  primary: ConnectionTarget;
  maxReplicaLagMs: number;
  pooler: string;
}

export interface FleetAuditResult {
  pooler: string;
  nodes: { name: string; result: AuditResult }[];
  replication: ReplicationFacts;
  /** The fleet checks' findings (each node's own are in its result). */
  findings: Finding[];
  errors: number;
  warnings: number;
  durationMs: number;
}

export async function auditFleet(opts: FleetAuditOptions): Promise<FleetAuditResult> {
  const t0 = performance.now();
  const nodes: FleetAuditResult['nodes'] = [];
  for (const node of opts.nodes) {
    opts.logger?.info(`Auditing node ${node.name} (${node.target.display}) ...`);
    const result = await audit({
      ...opts,
      target: node.target,
      updateBaseline: Boolean(opts.updateBaseline) && node.name === 'primary',
    });
    nodes.push({ name: node.name, result });
  }
  const replication = await replicationFacts(
    opts.primary,
    opts.nodes.filter((n) => n.name !== 'primary'),
  );
  const findings = fleetFindings(nodes, replication, opts.maxReplicaLagMs);
  const all = [...nodes.flatMap((n) => n.result.findings), ...findings];
  return {
    pooler: opts.pooler,
    nodes,
    replication,
    findings,
    errors: all.filter((f) => f.status === 'fail').length,
    warnings: all.filter((f) => f.status === 'warn').length,
    durationMs: performance.now() - t0,
  };
}

/** replica-lag-high per standby, replica-plan-differs per query and replica (pure). */
export function fleetFindings(
  nodes: FleetAuditResult['nodes'],
  replication: ReplicationFacts,
  maxReplicaLagMs: number,
): Finding[] {
  const out: Finding[] = [];
  const push = (
    code: string,
    severity: Severity,
    o: Outcome | undefined,
    at?: { file: string; line: number },
  ): void => {
    if (!o) return;
    const status: FindingStatus = o.status === 'fail' ? (severity === 'error' ? 'fail' : 'warn') : o.status;
    const subject = o.subject ?? 'fleet';
    out.push({
      id: `${subject}/${code}`,
      subject,
      code,
      severity,
      status,
      message: o.message,
      file: at?.file,
      line: at?.line,
    });
  };
  for (const lag of replication.nodes)
    push(replicaLagHigh.code, replicaLagHigh.severity, replicaLagHigh.check(lag, maxReplicaLagMs));
  const primary = nodes.find((n) => n.name === 'primary');
  if (primary) {
    for (const node of nodes.filter((n) => n.name !== 'primary')) {
      for (const run of node.result.queries) {
        const p = primary.result.queries.find((q) => q.name === run.name);
        if (p)
          push(replicaPlanDiffers.code, replicaPlanDiffers.severity, replicaPlanDiffers.check(p, run, node.name), {
            file: run.file,
            line: run.line,
          });
      }
    }
  }
  return out;
}
