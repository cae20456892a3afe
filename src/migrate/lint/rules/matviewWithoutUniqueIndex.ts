// matview-without-unique-index: a materialized view needs a unique index on plain columns,
// without WHERE, to be refreshed CONCURRENTLY (without blocking its readers).
import { nodeBody, nodeType } from '../../../sql/parse.js';
import { relKey, relName, type LintRule, type RangeVar, type RuleHit } from '../types.js';

export const matviewWithoutUniqueIndex: LintRule = {
  code: 'matview-without-unique-index',
  severity: 'error',
  fix: 'Add CREATE UNIQUE INDEX ON the view (plain columns, no WHERE) in the same file, right after CREATE MATERIALIZED VIEW.',
  doc: 'matview-without-unique-index',
  blocks: 'reads of the view during every later refresh',
  impact: 'none',
  check(unit) {
    const hits: RuleHit[] = [];
    for (const stmt of unit.statements) {
      if (nodeType(stmt.node) !== 'CreateTableAsStmt' || nodeBody(stmt.node).objtype !== 'OBJECT_MATVIEW') continue;
      const rel = (nodeBody(stmt.node).into as { rel: RangeVar }).rel;
      const ok = unit.statements.some((s) => {
        if (nodeType(s.node) !== 'IndexStmt') return false;
        const b = nodeBody(s.node);
        const on = b.relation as RangeVar;
        const sameRel =
          on.relname.toLowerCase() === rel.relname.toLowerCase() &&
          (!on.schemaname || !rel.schemaname || relKey(on) === relKey(rel));
        const plain = ((b.indexParams ?? []) as { IndexElem: { name?: string } }[]).every((p) =>
          Boolean(p.IndexElem?.name),
        );
        return sameRel && Boolean(b.unique) && !b.whereClause && plain;
      });
      if (!ok) {
        hits.push({
          stmt,
          message: `materialized view ${relName(rel)} has no unique index on plain columns: REFRESH MATERIALIZED VIEW CONCURRENTLY is impossible, so every refresh takes an ACCESS EXCLUSIVE lock that blocks all reads of the view.`,
        });
      }
    }
    return hits;
  },
};
