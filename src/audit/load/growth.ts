// Growth: how a query's work scales with its data. The baseline records, per query, the row
// counts (pg_class.reltuples) of the relations its plan reads, its shared buffers and p95; when
// a later audit runs on data at least 2x larger or smaller, each figure gets an exponent
//   e = log(figure_now / figure_before) / log(rows_now / rows_before)
// so e ~ 0 is an index look-up (constant work), e ~ 1 a scan that reads every row.
export interface GrowthScan {
  /** "Seq Scan on notes", "Index Scan using i on t", or a bare node type. */
  node: string;
  relation: string;
  schema?: string;
}

export interface GrowthSide {
  /** Schema-qualified relation -> reltuples. */
  relationRows: Record<string, number>;
  buffers: number;
  p95?: number;
}

export interface GrowthFacts {
  query: string;
  tier?: string;
  rowsBefore: number;
  rowsNow: number;
  buffersBefore: number;
  buffersNow: number;
  buffersExponent: number;
  p95Before?: number;
  p95Now?: number;
  p95Exponent?: number;
  /** The plan node reading the relation that grew the most, e.g. "Seq Scan on messages". */
  node?: string;
}

/** Data at least this many times larger or smaller than the baseline's gets exponents. */
export const GROWTH_MIN_RATIO = 2;

export function exponent(before: number, now: number, rowsBefore: number, rowsNow: number): number {
  const r = Math.log(rowsNow / rowsBefore);
  if (!Number.isFinite(r) || r === 0) return 0;
  return Math.log(Math.max(1e-9, now) / Math.max(1e-9, before)) / r;
}

const rowsOf = (m: Record<string, number>): number => Object.values(m).reduce((a, b) => a + Math.max(0, b), 0);

/** Growth facts of one query, or undefined when the data is not 2x apart (or not comparable). */
export function growthFacts(
  query: string,
  tier: string | undefined,
  before: GrowthSide,
  now: GrowthSide,
  scans: GrowthScan[],
): GrowthFacts | undefined {
  const rowsBefore = rowsOf(before.relationRows);
  const rowsNow = rowsOf(now.relationRows);
  if (rowsBefore <= 0 || rowsNow <= 0) return undefined;
  const ratio = rowsNow / rowsBefore;
  if (ratio < GROWTH_MIN_RATIO && ratio > 1 / GROWTH_MIN_RATIO) return undefined;
  // Buffers of 0 (a plan answered from nothing) count as 1 so the exponent stays finite.
  const bBefore = Math.max(1, before.buffers);
  const bNow = Math.max(1, now.buffers);
  const facts: GrowthFacts = {
    query,
    tier,
    rowsBefore,
    rowsNow,
    buffersBefore: before.buffers,
    buffersNow: now.buffers,
    buffersExponent: exponent(bBefore, bNow, rowsBefore, rowsNow),
    node: responsibleNode(before, now, scans),
  };
  if (before.p95 !== undefined && now.p95 !== undefined && before.p95 > 0 && now.p95 > 0) {
    facts.p95Before = before.p95;
    facts.p95Now = now.p95;
    facts.p95Exponent = exponent(before.p95, now.p95, rowsBefore, rowsNow);
  }
  return facts;
}

const qualified = (s: GrowthScan): string => (s.schema ? `${s.schema}.${s.relation}` : s.relation);
const READS_ALL = /^(Parallel )?(Seq Scan|Bitmap Heap Scan|Sample Scan)\b/;

/** The scan on the relation that grew most; a scan that reads every row wins a tie. */
function responsibleNode(before: GrowthSide, now: GrowthSide, scans: GrowthScan[]): string | undefined {
  let best: { scan: GrowthScan; score: number } | undefined;
  for (const scan of scans) {
    const key = qualified(scan);
    const b = before.relationRows[key];
    const n = now.relationRows[key];
    const growth = b && n ? Math.abs(Math.log(n / b)) : 0;
    const score = growth * (READS_ALL.test(scan.node) ? 2 : 1) + (READS_ALL.test(scan.node) ? 1e-6 : 0);
    if (!best || score > best.score) best = { scan, score };
  }
  if (!best) return undefined;
  // The audit's scan facts already read "Seq Scan on notes"; bare node types get the relation.
  return / on /.test(best.scan.node) ? best.scan.node : `${best.scan.node} on ${best.scan.relation}`;
}
