// Reads one EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) plan into the facts the audit checks:
// estimated cost, a plan-shape fingerprint (node types, relations, indexes; never costs, so
// it only moves when the plan really changes), row-estimate error, heap fetches of
// index-only scans, shared buffers and the seq scans with their relation.
// https://www.postgresql.org/docs/current/using-explain.html
import { createHash } from 'node:crypto';

export interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  Schema?: string;
  'Index Name'?: string;
  'Parent Relationship'?: string;
  'Total Cost'?: number;
  'Plan Rows'?: number;
  'Actual Rows'?: number;
  'Actual Loops'?: number;
  'Heap Fetches'?: number;
  'Shared Hit Blocks'?: number;
  'Shared Read Blocks'?: number;
  Plans?: PlanNode[];
  [key: string]: unknown;
}

export interface ExplainOutput {
  Plan: PlanNode;
  'Planning Time'?: number;
  'Execution Time'?: number;
}

export interface ScanFact {
  node: string;
  relation: string;
  schema?: string;
  index?: string;
  /** reltuples of the relation, filled in by the runner. */
  relationRows?: number;
}

export interface RowEstimate {
  /** max(actual/estimated, estimated/actual) per loop, 1 when exact. */
  ratio: number;
  node: string;
  estimated: number;
  actual: number;
}

export interface PlanFacts {
  totalCost: number;
  fingerprint: string;
  /** Human-readable shape, e.g. "Limit > Index Scan using messages_conversation_recent on messages". */
  shape: string;
  planRows: number;
  actualRows?: number;
  executionMs?: number;
  planningMs?: number;
  sharedHit: number;
  sharedRead: number;
  heapFetches: number;
  indexOnlyScans: ScanFact[];
  indexesUsed: string[];
  scans: ScanFact[];
  seqScans: ScanFact[];
  worstEstimate?: RowEstimate;
  /** Schema-qualified relations and indexes the plan touches (cold eviction). */
  relations: string[];
  analyzed: boolean;
  /** The plan as a tree of the figures a person reads (HTML report). */
  tree?: PlanTreeNode;
}

export interface PlanTreeNode {
  /** "Index Scan using i on t". */
  node: string;
  cost: number;
  planRows: number;
  actualRows?: number;
  loops?: number;
  /** Actual Total Time × loops: the node's time including its children, ms. */
  totalMs?: number;
  sharedHit?: number;
  sharedRead?: number;
  children: PlanTreeNode[];
}

/** The figures of each node, children in plan order. */
export function planTree(n: PlanNode): PlanTreeNode {
  const loops = n['Actual Loops'];
  const time = n['Actual Total Time'];
  return {
    node: describeNode(n),
    cost: n['Total Cost'] ?? 0,
    planRows: n['Plan Rows'] ?? 0,
    actualRows: n['Actual Rows'],
    loops,
    totalMs: typeof time === 'number' && loops !== undefined ? time * Math.max(loops, 1) : undefined,
    sharedHit: n['Shared Hit Blocks'],
    sharedRead: n['Shared Read Blocks'],
    children: (n.Plans ?? []).map(planTree),
  };
}

/** The string a node contributes to the shape: "Index Scan using i on t". */
export function describeNode(n: PlanNode): string {
  let s = n['Node Type'];
  if (n['Index Name']) s += ` using ${n['Index Name']}`;
  if (n['Relation Name']) s += ` on ${n['Relation Name']}`;
  return s;
}

function normalize(n: PlanNode): unknown {
  return [n['Node Type'], n['Relation Name'] ?? null, n['Index Name'] ?? null, (n.Plans ?? []).map(normalize)];
}

/** sha1 of the normalised tree (node types, relations, index names), first 16 hex digits. */
export function planFingerprint(plan: PlanNode): string {
  return createHash('sha1')
    .update(JSON.stringify(normalize(plan)))
    .digest('hex')
    .slice(0, 16);
}

export function planShape(plan: PlanNode): string {
  const kids = plan.Plans ?? [];
  if (kids.length === 0) return describeNode(plan);
  if (kids.length === 1) return `${describeNode(plan)} > ${planShape(kids[0]!)}`;
  return `${describeNode(plan)} > (${kids.map(planShape).join('; ')})`;
}

/** Rows under which an estimate is not judged: misestimating 3 rows as 30 costs nothing. */
export const MIN_ESTIMATE_ROWS = 100;

export function analyzePlan(explain: ExplainOutput): PlanFacts {
  const root = explain.Plan;
  const scans: ScanFact[] = [];
  const indexOnlyScans: ScanFact[] = [];
  const indexes = new Set<string>();
  const relations = new Set<string>();
  let heapFetches = 0;
  let worst: RowEstimate | undefined;
  const analyzed = root['Actual Loops'] !== undefined;

  const visit = (n: PlanNode, underLimit: boolean): void => {
    const type = n['Node Type'];
    const schema = n.Schema;
    if (n['Relation Name']) {
      const fact: ScanFact = { node: describeNode(n), relation: n['Relation Name'], schema, index: n['Index Name'] };
      scans.push(fact);
      relations.add(qualify(schema, n['Relation Name']));
      if (type === 'Index Only Scan') indexOnlyScans.push(fact);
    }
    if (n['Index Name']) {
      indexes.add(n['Index Name']);
      relations.add(qualify(schema, n['Index Name']));
    }
    if (type === 'Index Only Scan') heapFetches += n['Heap Fetches'] ?? 0;
    const loops = n['Actual Loops'];
    if (analyzed && loops && loops > 0 && n['Plan Rows'] !== undefined && n['Actual Rows'] !== undefined) {
      const est = Math.max(n['Plan Rows'], 1);
      const act = Math.max(n['Actual Rows'], 1);
      // Below a Limit the executor stops early: fewer rows than estimated is expected there.
      const earlyStop = underLimit && act < est;
      if (!earlyStop && Math.max(est, act) >= MIN_ESTIMATE_ROWS) {
        const ratio = Math.max(est / act, act / est);
        if (!worst || ratio > worst.ratio)
          worst = { ratio, node: describeNode(n), estimated: n['Plan Rows'], actual: n['Actual Rows'] };
      }
    }
    const limitBelow = underLimit || type === 'Limit' || /Semi|Anti/.test(String(n['Join Type'] ?? ''));
    for (const child of n.Plans ?? []) visit(child, limitBelow);
  };
  visit(root, false);
  return {
    totalCost: root['Total Cost'] ?? 0,
    fingerprint: planFingerprint(root),
    shape: planShape(root),
    planRows: root['Plan Rows'] ?? 0,
    actualRows: root['Actual Rows'],
    executionMs: explain['Execution Time'],
    planningMs: explain['Planning Time'],
    sharedHit: root['Shared Hit Blocks'] ?? 0,
    sharedRead: root['Shared Read Blocks'] ?? 0,
    heapFetches,
    indexOnlyScans,
    indexesUsed: [...indexes].sort(),
    scans,
    seqScans: scans.filter((s) => /Seq Scan$/.test(s.node.split(' on ')[0]!)),
    worstEstimate: worst,
    relations: [...relations],
    analyzed,
    tree: planTree(root),
  };
}

function qualify(schema: string | undefined, name: string): string {
  const q = (s: string): string => `"${s.replace(/"/g, '""')}"`;
  return schema ? `${q(schema)}.${q(name)}` : q(name);
}
