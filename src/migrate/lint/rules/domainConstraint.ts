// domain-constraint: ALTER DOMAIN ... ADD CONSTRAINT (without NOT VALID) or SET NOT NULL checks
// every column of every table using the domain, locking each table against writes meanwhile.
import { body, dottedName, kind, type LintRule, type RuleHit } from '../types.js';

export const domainConstraint: LintRule = {
  code: 'domain-constraint',
  severity: 'error',
  fix: 'Add the constraint NOT VALID, then ALTER DOMAIN ... VALIDATE CONSTRAINT in a later migration.',
  doc: 'domain-constraint',
  blocks: 'writes of every table with a column of the domain, for the whole scan',
  squawk: 'ban-alter-domain-with-add-constraint',
  impact: 'scan',
  check(unit) {
    const hits: RuleHit[] = [];
    for (const stmt of unit.statements) {
      if (kind(stmt) !== 'AlterDomainStmt') continue;
      const b = body(stmt);
      const name = dottedName(b.typeName);
      const con = (b.def as { Constraint?: { contype: string; skip_validation?: boolean } } | undefined)?.Constraint;
      const addsChecked =
        b.subtype === 'C' && con !== undefined && !con.skip_validation && con.contype !== 'CONSTR_NOTNULL';
      if (addsChecked || b.subtype === 'O') {
        const what = b.subtype === 'O' ? 'SET NOT NULL' : 'ADD CONSTRAINT';
        hits.push({
          stmt,
          message: `ALTER DOMAIN ${name} ${what} checks every stored value of every column using the domain, locking each such table against writes until its scan ends.`,
        });
      }
    }
    return hits;
  },
};
