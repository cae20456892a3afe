// The committed baseline of `dbopt audit --update-baseline`: one entry per query, keys sorted,
// 2-space indent and rounded figures, so a pull request that changes a plan shows a small,
// readable diff. Entries are compared only on the PostgreSQL major version they came from:
// costs and plan shapes of another major are not comparable.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { UsageError } from '../errors.js';
import type { ServerInfo } from '../catalog/server.js';
import type { QueryRun } from './runner.js';
import type { LoadResult } from './load/engine.js';
import { stableStringify } from '../stableJson.js';

export interface BaselineEntry {
  file: string;
  tier?: string;
  budgetMs: number;
  cost: number;
  rows: number;
  buffers: { hit: number; read: number; total: number };
  plan: { fingerprint: string; shape: string };
  latencyMs: { p50: number; p95: number; p99: number; max: number };
  /** reltuples of the relations the plan reads, when recorded: growth compares data sizes. */
  relationRows?: Record<string, number>;
  /** Figures of the last --load run that wrote the baseline. */
  load?: {
    model: string;
    concurrency?: number;
    rate?: number;
    connections: number;
    requests: number;
    errors: number;
    throughput: number;
    p50: number;
    p95: number;
    p99: number;
    poolWaitP95: number;
  };
}

export interface Baseline {
  format: 1;
  server: { version: string; major: number };
  queries: Record<string, BaselineEntry>;
}

const round = (n: number, digits: number): number => Number(n.toFixed(digits));

/** The baseline file, or undefined when it does not exist yet. */
export function readBaseline(file: string): Baseline | undefined {
  if (!existsSync(file)) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new UsageError(`${file}: the baseline is not valid JSON: ${(err as Error).message}`, {
      hint: 'Restore it from git, or write a new one with dbopt audit --update-baseline.',
    });
  }
  const b = value as Partial<Baseline>;
  if (!b || typeof b !== 'object' || typeof b.queries !== 'object' || !b.server || typeof b.server.major !== 'number') {
    throw new UsageError(`${file}: not a dbopt baseline (expected server.major and queries)`, {
      hint: 'Write a new one with dbopt audit --update-baseline.',
    });
  }
  return b as Baseline;
}

export function baselineEntry(run: QueryRun, load?: LoadResult): BaselineEntry | undefined {
  if (run.status !== 'measured' || !run.plan || !run.latency) return undefined;
  const p = run.plan;
  const l = run.latency;
  return {
    file: run.file.split('\\').join('/'),
    tier: run.tier,
    budgetMs: run.budgetMs,
    cost: round(p.totalCost, 2),
    rows: Math.round(p.actualRows ?? p.planRows),
    buffers: { hit: p.sharedHit, read: p.sharedRead, total: p.sharedHit + p.sharedRead },
    plan: { fingerprint: p.fingerprint, shape: p.shape },
    latencyMs: { p50: round(l.p50, 2), p95: round(l.p95, 2), p99: round(l.p99, 2), max: round(l.max, 2) },
    ...(run.relationRows
      ? { relationRows: Object.fromEntries(Object.entries(run.relationRows).map(([k, v]) => [k, Math.round(v)])) }
      : {}),
    ...loadEntry(run.name, load),
  };
}

function loadEntry(name: string, load: LoadResult | undefined): Pick<BaselineEntry, 'load'> {
  const q = load?.queries.find((x) => x.name === name);
  if (!load || !q || load.partial) return {};
  return {
    load: {
      model: load.model,
      concurrency: load.concurrency,
      rate: load.rate,
      connections: load.connections,
      requests: q.requests,
      errors: q.errors,
      throughput: Math.round(q.throughput),
      p50: round(q.latency.p50, 2),
      p95: round(q.latency.p95, 2),
      p99: round(q.latency.p99, 2),
      poolWaitP95: round(q.poolWait.p95, 2),
    },
  };
}

/**
 * The new baseline: entries of measured queries replace old ones; with `keepOthers` (an
 * --only run) entries of queries not audited this time are kept.
 */
export function nextBaseline(
  old: Baseline | undefined,
  runs: QueryRun[],
  server: ServerInfo,
  keepOthers: boolean,
  load?: LoadResult,
): Baseline {
  const queries: Record<string, BaselineEntry> = {};
  const sameMajor = old?.server.major === server.major;
  if (old && keepOthers && sameMajor) Object.assign(queries, old.queries);
  for (const run of runs) {
    const entry = baselineEntry(run, load);
    // A run without --load keeps the load figures an earlier --load run recorded.
    if (entry && !entry.load && sameMajor && old?.queries[run.name]?.load) entry.load = old.queries[run.name]!.load;
    if (entry) queries[run.name] = entry;
    else if (old?.queries[run.name] && sameMajor) queries[run.name] = old.queries[run.name]!;
  }
  return { format: 1, server: { version: server.version, major: server.major }, queries };
}

export function serializeBaseline(b: Baseline): string {
  return stableStringify(b);
}

export function writeBaseline(file: string, b: Baseline): void {
  writeFileSync(file, serializeBaseline(b));
}

/** Why entries of `baseline` cannot be compared on this server, or undefined when they can. */
export function incomparableReason(baseline: Baseline | undefined, server: ServerInfo): string | undefined {
  if (!baseline) return undefined;
  if (baseline.server.major !== server.major) {
    return `baseline from PostgreSQL ${baseline.server.major}, server is ${server.major}: cost, plan shape and buffers not compared`;
  }
  return undefined;
}
