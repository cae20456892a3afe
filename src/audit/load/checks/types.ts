// What a load check is: a code, a severity and a pure function of the load run's figures (and,
// for growth, of the figures a baseline recorded at another data size). Like the audit's
// checks they never touch the database, so each is tested with plain objects.
import type { LoadResult, QueryLoad } from '../engine.js';
import type { GrowthFacts } from '../growth.js';

export type Severity = 'error' | 'warning';

export interface LoadOutcome {
  status: 'pass' | 'fail' | 'skip';
  /** A query name, or "load" for the run as a whole. */
  subject: string;
  message: string;
}

export interface QueryBudget {
  budgetMs: number;
  /** "tier hot" or "budget". */
  budgetSource: string;
  tier?: string;
}

export interface LoadCheckInput {
  load?: LoadResult;
  budgets: Record<string, QueryBudget>;
  growth: GrowthFacts[];
}

export interface LoadCheck {
  code: string;
  severity: Severity;
  summary: string;
  check(input: LoadCheckInput): LoadOutcome[];
}

export const ms = (n: number): string =>
  n < 10 ? `${n.toFixed(2)} ms` : `${Math.round(n).toLocaleString('en-US')} ms`;

/** "1000 in flight over 16 connections" or "400/s over 16 connections". */
export function modelText(load: LoadResult): string {
  return load.model === 'closed'
    ? `${load.concurrency} in flight over ${load.connections} connection${load.connections === 1 ? '' : 's'}`
    : `${load.rate}/s over ${load.connections} connection${load.connections === 1 ? '' : 's'}`;
}

export function queryLoads(load: LoadResult | undefined): QueryLoad[] {
  return load?.queries ?? [];
}
