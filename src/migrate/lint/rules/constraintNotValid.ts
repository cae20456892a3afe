// constraint-not-valid: ADD CONSTRAINT ... FOREIGN KEY or CHECK on an existing table without
// NOT VALID scans the whole table while holding its lock (CHECK: ACCESS EXCLUSIVE; FOREIGN KEY:
// SHARE ROW EXCLUSIVE on both tables, blocking their writes).
import {
  altersOfExistingTables,
  relName,
  type ColumnDef,
  type LintRule,
  type RangeVar,
  type RuleHit,
} from '../types.js';

export const constraintNotValid: LintRule = {
  code: 'constraint-not-valid',
  severity: 'error',
  fix: 'Add the constraint (for a new column: in its own ALTER TABLE ... ADD CONSTRAINT) with NOT VALID, then run ALTER TABLE ... VALIDATE CONSTRAINT in a later migration (it takes a weaker lock).',
  doc: 'constraint-not-valid',
  blocks: 'writes of the table (and of the referenced table) for the whole scan',
  squawk: 'constraint-missing-not-valid, adding-foreign-key-constraint',
  impact: 'scan',
  check(unit) {
    const hits: RuleHit[] = [];
    for (const { stmt, rel, cmds } of altersOfExistingTables(unit)) {
      for (const cmd of cmds) {
        if (cmd.subtype === 'AT_AddColumn') {
          // A column constraint cannot be NOT VALID: the table-level form in a later statement can.
          const col = cmd.def?.ColumnDef as ColumnDef | undefined;
          for (const c of col?.constraints ?? []) {
            const con = c.Constraint as { contype: string; pktable?: RangeVar };
            if (con.contype === 'CONSTR_FOREIGN') {
              hits.push({
                stmt,
                rel,
                message: `ADD COLUMN ${col?.colname ?? ''} REFERENCES ${relName(con.pktable)} validates the new foreign key over every row of ${relName(rel)} while holding its ACCESS EXCLUSIVE lock and a SHARE ROW EXCLUSIVE lock on ${relName(con.pktable)}: writes to both wait for the scan.`,
              });
            } else if (con.contype === 'CONSTR_CHECK') {
              hits.push({
                stmt,
                rel,
                message: `ADD COLUMN ${col?.colname ?? ''} with a CHECK scans every row of ${relName(rel)} under an ACCESS EXCLUSIVE lock: all reads and writes wait for the scan.`,
              });
            }
          }
          continue;
        }
        if (cmd.subtype !== 'AT_AddConstraint') continue;
        const con = cmd.def?.Constraint as { contype: string; conname?: string; skip_validation?: boolean } | undefined;
        if (!con || con.skip_validation) continue;
        if (con.contype === 'CONSTR_FOREIGN') {
          hits.push({
            stmt,
            rel,
            message: `ADD CONSTRAINT ${con.conname ?? ''} FOREIGN KEY checks every row of ${relName(rel)} while holding SHARE ROW EXCLUSIVE locks on it and the referenced table: writes to both wait for the scan.`,
          });
        } else if (con.contype === 'CONSTR_CHECK') {
          hits.push({
            stmt,
            rel,
            message: `ADD CONSTRAINT ${con.conname ?? ''} CHECK scans every row of ${relName(rel)} under an ACCESS EXCLUSIVE lock: all reads and writes wait for the scan.`,
          });
        }
      }
    }
    return hits;
  },
};
