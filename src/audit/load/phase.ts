// The audit's load phase (dbopt audit --load): picks the mix from the declared queries
// (read-only ones, weighted by `-- weight:`; allow-writes queries only when named), samples
// their parameters the way the single-client runs do, runs the load engine and turns its
// figures, and the growth against the baseline, into findings of the audit's shape.
import type { Config } from '../../config.js';
import type { Client } from 'pg';
import type { ConnectionTarget } from '../../db/connection.js';
import { UsageError } from '../../errors.js';
import { LOAD_CHECKS, type QueryBudget } from './checks/index.js';
import { runLoad, type LoadModel, type LoadQuery, type LoadResult, type ParamValue } from './engine.js';
import { growthFacts, type GrowthFacts, type GrowthScan } from './growth.js';

/** audit.load as the config resolved it (rate null: the closed model). */
export type LoadSettings = Config['audit']['load'];

/** The parts of an audited query the load phase needs (AuditQuery has them all). */
export interface LoadCandidate {
  name: string;
  text: string;
  weight?: number;
  allowWrites: boolean;
  writes: boolean;
  params?: (string | null)[][];
  paramsFrom?: { text: string };
  placeholders: number;
  budgetMs: number;
  budgetSource: string;
  tier?: string;
}

export interface LoadMix {
  queries: LoadCandidate[];
  /** Left out, with why. */
  left: { name: string; reason: string }[];
}

/**
 * Read-only queries with a weight above 0; allow-writes queries only when named in `named`
 * (each request then runs in a rolled-back READ WRITE transaction). A non-empty `named`
 * limits the mix to those names.
 */
export function loadMix(candidates: LoadCandidate[], named: string[] = []): LoadMix {
  const left: LoadMix['left'] = [];
  const queries: LoadCandidate[] = [];
  for (const q of candidates) {
    if (named.length && !named.includes(q.name)) {
      left.push({ name: q.name, reason: 'not named in --load-only' });
    } else if ((q.allowWrites || q.writes) && !named.includes(q.name)) {
      left.push({ name: q.name, reason: 'allow-writes: name it with --load-only to include it (rolled back)' });
    } else if ((q.weight ?? 1) <= 0) {
      left.push({ name: q.name, reason: 'weight 0' });
    } else {
      queries.push(q);
    }
  }
  return { queries, left };
}

export interface LoadPhaseOptions {
  target: ConnectionTarget;
  /** The audit's connection: parameter sampling, the pre-check and server sampling. */
  client: Client;
  candidates: LoadCandidate[];
  named?: string[];
  settings: LoadSettings;
  statementTimeoutMs: number;
  lockTimeoutMs: number;
  signal?: AbortSignal;
  onProgress?: (line: string) => void;
  /** Through a declared transaction-mode pooler (database.pooler "transaction"). */
  pooled?: boolean;
  /** Queries whose single-client run failed (name -> status): left out of the mix. */
  unmeasured?: Map<string, string>;
}

export interface LoadPhase {
  result: LoadResult;
  left: LoadMix['left'];
}

export async function runLoadPhase(opts: LoadPhaseOptions): Promise<LoadPhase> {
  const mix = loadMix(opts.candidates, opts.named);
  if (mix.queries.length === 0) {
    throw new UsageError('--load: no query to load (every query is allow-writes, weight 0 or not named)', {
      hint: 'Declare read-only queries, or name them with --load-only.',
    });
  }
  const queries: LoadQuery[] = [];
  for (const q of mix.queries) {
    if (opts.unmeasured?.has(q.name)) {
      mix.left.push({ name: q.name, reason: `not measured alone (${opts.unmeasured.get(q.name)})` });
      continue;
    }
    const params = await sampleParams(opts.client, q, opts);
    if (!params) {
      mix.left.push({ name: q.name, reason: 'params-from returned no rows' });
      continue;
    }
    queries.push({
      name: q.name,
      text: q.text,
      weight: q.weight ?? 1,
      params,
      placeholders: q.placeholders,
      rollback: q.allowWrites || q.writes,
    });
  }
  if (queries.length === 0) {
    throw new UsageError(
      `--load: no query could be loaded (${mix.left.map((l) => `${l.name}: ${l.reason}`).join('; ')})`,
      {
        hint: 'Fix the queries the single-client audit reports, or seed the database.',
      },
    );
  }
  const s = opts.settings;
  const model: LoadModel = s.rate
    ? { kind: 'open', rate: s.rate, arrivals: s.arrivals }
    : { kind: 'closed', concurrency: s.concurrency };
  const result = await runLoad({
    target: opts.target,
    client: opts.client,
    queries,
    model,
    connections: s.connections,
    durationMs: s.durationMs,
    warmupMs: s.warmupMs,
    statementTimeoutMs: opts.statementTimeoutMs,
    lockTimeoutMs: opts.lockTimeoutMs,
    maxConnectionShare: s.maxConnectionShare,
    pooled: opts.pooled,
    signal: opts.signal,
    onProgress: opts.onProgress,
  });
  return { result, left: mix.left };
}

async function sampleParams(
  client: Client,
  q: LoadCandidate,
  t: { statementTimeoutMs: number; lockTimeoutMs: number },
): Promise<ParamValue[][] | undefined> {
  if (q.params) return q.params;
  if (!q.paramsFrom) return [];
  await client.query('BEGIN READ ONLY');
  try {
    await client.query(
      `SELECT set_config('statement_timeout', $1, true),
              set_config('lock_timeout', $2, true)`,
      [`${Math.round(t.statementTimeoutMs)}ms`, `${Math.round(t.lockTimeoutMs)}ms`],
    );
    const { rows } = await client.query<ParamValue[]>({
      text: q.paramsFrom.text,
      rowMode: 'array',
      types: { getTypeParser: () => (v: string) => v },
    });
    return rows.length ? rows : undefined;
  } finally {
    await client.query('ROLLBACK').catch(() => undefined);
  }
}

/** Relation -> reltuples for the relations a plan scans (schema-qualified keys). */
export async function relationRows(client: Client, scans: GrowthScan[]): Promise<Record<string, number>> {
  const names = [...new Set(scans.map((s) => (s.schema ? `${s.schema}.${s.relation}` : s.relation)))];
  if (names.length === 0) return {};
  const quoted = names.map((n) =>
    n
      .split('.')
      .map((p) => client.escapeIdentifier(p))
      .join('.'),
  );
  const { rows } = await client.query<{ i: number; reltuples: number }>(
    `SELECT r.i::int AS i,
            greatest(c.reltuples, 0)::float8 AS reltuples
       FROM unnest($1::text[]) WITH ORDINALITY AS r(name, i)
       JOIN pg_class AS c ON c.oid = to_regclass(r.name)`,
    [quoted],
  );
  const out: Record<string, number> = {};
  for (const r of rows) out[names[r.i - 1]!] = Number(r.reltuples);
  return out;
}

export interface LoadFinding {
  id: string;
  subject: string;
  code: string;
  severity: 'error' | 'warning';
  status: 'pass' | 'fail' | 'warn' | 'skip';
  message: string;
}

/** Findings of the load checks, in the audit's shape (grows-with-data is an error with strict). */
export function loadFindings(
  load: LoadResult | undefined,
  budgets: Record<string, QueryBudget>,
  growth: GrowthFacts[],
): LoadFinding[] {
  const out: LoadFinding[] = [];
  for (const check of LOAD_CHECKS) {
    for (const o of check.check({ load, budgets, growth })) {
      const status = o.status === 'fail' ? (check.severity === 'error' ? 'fail' : 'warn') : o.status;
      out.push({
        id: `${o.subject}/${check.code}`,
        subject: o.subject,
        code: check.code,
        severity: check.severity,
        status,
        message: o.message,
      });
    }
  }
  return out;
}

export { growthFacts };
export type { GrowthFacts, GrowthScan, LoadResult };
