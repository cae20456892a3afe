// refresh-views --status on a fleet: how stale each view's rows are on each replica. A replica
// holds the view as of the primary's last successful refresh once it has replayed it, so its
// staleness is that refresh's age plus the replica's replay lag (0 when caught up).
import type { ConnectionTarget } from '../db/connection.js';
import type { FleetNode } from '../db/fleet.js';
import { replicationFacts, type NodeLag } from '../catalog/replication.js';
import type { StatusResult } from './index.js';

export interface ReplicaViewStaleness {
  replica: string;
  view: string;
  /** The primary's last success (start of the refresh: the rows are as of then). */
  lastSuccess?: string;
  lagMs: number | null;
  /** Age of the primary's last success plus the replay lag; undefined when never refreshed. */
  stalenessMs?: number;
}

export interface ReplicaStatus {
  replicas: { name: string; lag: NodeLag }[];
  views: ReplicaViewStaleness[];
}

export async function replicaStaleness(
  status: StatusResult,
  primary: ConnectionTarget,
  replicas: FleetNode[],
): Promise<ReplicaStatus> {
  const facts = await replicationFacts(primary, replicas);
  const views: ReplicaViewStaleness[] = [];
  for (const lag of facts.nodes) {
    const lagMs = lag.replaySeconds === null ? null : Math.round(lag.replaySeconds * 1000);
    for (const v of status.views) {
      views.push({
        replica: lag.node,
        view: v.view,
        lastSuccess: v.lastSuccess,
        lagMs,
        stalenessMs: v.ageMs === undefined ? undefined : v.ageMs + (lagMs ?? 0),
      });
    }
  }
  return { replicas: facts.nodes.map((lag) => ({ name: lag.node, lag })), views };
}
