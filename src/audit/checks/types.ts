// What a check is: a code, a severity and a pure function of facts the audit gathered (one
// query's run and its baseline entry, or the schema's catalog facts). Checks never touch the
// database, so each is tested with plain objects (test/unit/audit-checks.test.ts).
import type { BaselineEntry } from '../baseline.js';
import type { QueryRun } from '../runner.js';
import { tableName, type SchemaFacts } from '../../catalog/schema.js';
import type { IndexFact } from '../../catalog/indexes.js';

export type Severity = 'error' | 'warning';

export interface Outcome {
  status: 'pass' | 'fail' | 'skip';
  message: string;
  /** Defaults to the query or "schema". */
  subject?: string;
  /** Defaults to the statement's line. */
  line?: number;
  column?: number;
  /** Alike findings for members of one parent (partitions of a table, indexes of a table), shown together. */
  group?: { parent: string; kind: string; member: string };
}

export interface CheckSettings {
  costRegression: number;
  seqScanRows: number;
  minCacheHitRatio: number;
  minBlocks: number;
  /** refresh.schedules / refresh.defaultSchedule / include / exclude, for view-overdue. */
  schedules: Record<string, string>;
  defaultSchedule: string;
  include: string[];
  exclude: string[];
}

export interface QueryCheckInput {
  run: QueryRun;
  /** The comparable baseline entry, if any. */
  baseline?: BaselineEntry;
  /** Why there is no comparable entry: "no baseline", "baseline from PostgreSQL 18, ...". */
  baselineNote?: string;
  settings: CheckSettings;
}

export interface QueryCheck {
  kind: 'query';
  code: string;
  severity: Severity;
  /** One line for docs and --help. */
  summary: string;
  /** undefined = does not apply to this query (no testcase). */
  check(input: QueryCheckInput): Outcome | undefined;
}

export interface SchemaCheck {
  kind: 'schema';
  code: string;
  severity: Severity;
  summary: string;
  /** At least one outcome: a single pass when nothing is wrong. */
  check(facts: SchemaFacts, settings: CheckSettings): Outcome[];
}

export const fmt = (n: number, digits = 2): string => n.toLocaleString('en-US', { maximumFractionDigits: digits });
export const ms = (n: number): string =>
  n < 10 ? `${n.toFixed(2)} ms` : `${Math.round(n).toLocaleString('en-US')} ms`;

/** "Seq Scan on users, Index Scan using x on y": the plan's scan nodes, for messages. */
export function scanList(run: QueryRun): string {
  const scans = run.plan?.scans.map((s) => s.node) ?? [];
  return scans.length ? [...new Set(scans)].join(', ') : (run.plan?.shape ?? 'no plan');
}

/**
 * The group an index finding belongs to: the partitioned table when the index is on one of its
 * partitions (the same finding on every partition is one problem), else the index's table.
 */
export function indexGroup(
  i: Pick<IndexFact, 'schema' | 'table' | 'name' | 'partitionOf'>,
): NonNullable<Outcome['group']> {
  if (i.partitionOf) {
    const [schema, table] = i.partitionOf.split(/\.(.*)/s);
    return { parent: tableName(schema!, table ?? ''), kind: 'partitions', member: tableName(i.schema, i.table) };
  }
  return { parent: tableName(i.schema, i.table), kind: 'indexes', member: tableName(i.schema, i.name) };
}

/** A check of the Redis cache tier: a pure function of the figures src/cache/ read. */
export interface CacheCheck {
  kind: 'cache';
  code: string;
  severity: Severity;
  summary: string;
  /** At least one outcome; subject defaults to "cache". */
  check(tier: import('../../cache/index.js').CacheTierResult): Outcome[];
}
