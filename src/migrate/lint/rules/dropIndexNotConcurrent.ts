// drop-index-not-concurrent: DROP INDEX without CONCURRENTLY takes an ACCESS EXCLUSIVE lock on
// the index's table (up and down sections alike). An index created earlier in the same unit is
// new: dropping it plainly is fine.
import { body, kind, type LintRule, type RuleHit } from '../types.js';

export const dropIndexNotConcurrent: LintRule = {
  code: 'drop-index-not-concurrent',
  severity: 'error',
  fix: 'Write DROP INDEX CONCURRENTLY, alone in a migration file (or section) of its own.',
  doc: 'drop-index-not-concurrent',
  blocks: "reads and writes of the index's table while the lock is waited for and held",
  squawk: 'require-concurrent-index-deletion',
  impact: 'lock',
  check(unit) {
    const hits: RuleHit[] = [];
    const createdHere = new Set<string>();
    for (const stmt of unit.statements) {
      const b = body(stmt);
      if (kind(stmt) === 'IndexStmt' && b.idxname) createdHere.add(String(b.idxname).toLowerCase());
      if (kind(stmt) !== 'DropStmt' || b.removeType !== 'OBJECT_INDEX' || b.concurrent) continue;
      for (const o of (b.objects ?? []) as { List: { items: { String: { sval: string } }[] } }[]) {
        const names = o.List.items.map((i) => i.String.sval);
        if (createdHere.has(names[names.length - 1]!.toLowerCase())) continue;
        const name = names.join('.');
        hits.push({
          stmt,
          rel: { schemaname: names.length > 1 ? names[0] : undefined, relname: names[names.length - 1]! },
          message: `DROP INDEX ${name} without CONCURRENTLY takes an ACCESS EXCLUSIVE lock on its table: every read and write of the table waits, and queues behind the DROP while it waits for its lock.`,
        });
      }
    }
    return hits;
  },
};
