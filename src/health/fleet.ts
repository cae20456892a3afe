// dbopt report --node all|NAME: the health figures of each selected node, one after the other,
// side by side in one report, with the replication lag of each standby.
import type { ConnectionTarget } from '../db/connection.js';
import type { FleetNode } from '../db/fleet.js';
import { replicationFacts, type ReplicationFacts } from '../catalog/replication.js';
import type { Report, ReportSection } from '../report.js';
import { health, type HealthOptions, type HealthResult } from './index.js';
import { healthReport } from './report.js';

export interface FleetHealthResult {
  pooler: string;
  nodes: { name: string; result: HealthResult }[];
  replication: ReplicationFacts;
}

export async function fleetHealth(
  opts: Omit<HealthOptions, 'target'> & { nodes: FleetNode[]; primary: ConnectionTarget; pooler: string },
): Promise<FleetHealthResult> {
  const nodes: FleetHealthResult['nodes'] = [];
  for (const node of opts.nodes)
    nodes.push({ name: node.name, result: await health({ ...opts, target: node.target }) });
  const replication = await replicationFacts(
    opts.primary,
    opts.nodes.filter((n) => n.name !== 'primary'),
  );
  return { pooler: opts.pooler, nodes, replication };
}

export function fleetHealthReport(r: FleetHealthResult): Report {
  const perNode = r.nodes.map((n) => ({ name: n.name, report: healthReport(n.result) }));
  const sections: ReportSection[] = [
    {
      title: 'Replication',
      columns: ['node', 'state', 'bytes behind', 'lag s', 'last replayed commit', 'note'],
      rows: r.replication.nodes.map((l) => [
        l.node,
        l.state,
        l.replayBytes === null ? '-' : l.replayBytes.toLocaleString('en-US'),
        l.replaySeconds === null ? '-' : l.replaySeconds.toFixed(1),
        l.lastReplayAt ?? '',
        l.note,
      ]),
      empty: 'no standby selected',
    },
  ];
  // Section by section, each node's beside the others'.
  const titles = [...new Set(perNode.flatMap((p) => p.report.sections.map((s) => s.title)))];
  for (const title of titles) {
    for (const p of perNode) {
      const s = p.report.sections.find((x) => x.title === title);
      if (s) sections.push({ ...s, title: `${p.name}: ${s.title}` });
    }
  }
  const names = r.nodes.map((n) => n.name);
  return {
    command: 'report',
    title: `dbopt report --node ${names.length > 1 ? 'all' : names[0]} (${names.join(', ')}${r.pooler !== 'none' ? `; through a ${r.pooler}-mode pooler` : ''})`,
    server: r.nodes.map((n) => `${n.name} ${perNode.find((p) => p.name === n.name)!.report.server ?? ''}`).join(', '),
    ok: true,
    summary: perNode.map((p) => `${p.name}: ${p.report.summary}`).join(' '),
    sections,
    checks: perNode.flatMap((p) =>
      p.report.checks.map((c) => ({ ...c, id: `${p.name}:${c.id}`, subject: `${p.name}:${c.subject}` })),
    ),
    data: r,
  };
}
