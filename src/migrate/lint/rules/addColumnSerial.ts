// add-column-serial: ADD COLUMN of type serial/bigserial/smallserial or GENERATED ... AS IDENTITY
// on an existing table fills every row from a sequence: a full rewrite under ACCESS EXCLUSIVE.
import { altersOfExistingTables, relName, typeOf, type ColumnDef, type LintRule, type RuleHit } from '../types.js';

export const SERIAL_TYPES = new Set(['serial', 'serial4', 'bigserial', 'serial8', 'smallserial', 'serial2']);

export const addColumnSerial: LintRule = {
  code: 'add-column-serial',
  severity: 'error',
  fix: 'Add a plain nullable column, attach a sequence default (SET DEFAULT nextval(...)), backfill old rows in batches, then constrain it.',
  doc: 'add-column-serial',
  blocks: 'reads and writes of the table for the whole rewrite',
  squawk: 'adding-serial-primary-key-field, adding-field-with-default',
  impact: 'rewrite',
  check(unit) {
    const hits: RuleHit[] = [];
    for (const { stmt, rel, cmds } of altersOfExistingTables(unit)) {
      for (const cmd of cmds) {
        if (cmd.subtype !== 'AT_AddColumn') continue;
        const col = cmd.def?.ColumnDef as ColumnDef | undefined;
        if (!col) continue;
        const identity = (col.constraints ?? []).some((c) => c.Constraint.contype === 'CONSTR_IDENTITY');
        if (!identity && !SERIAL_TYPES.has(typeOf(col))) continue;
        const what = identity ? 'GENERATED ... AS IDENTITY' : typeOf(col);
        hits.push({
          stmt,
          rel,
          message: `ADD COLUMN ${col.colname ?? ''} ${what} writes a sequence value into every row of ${relName(rel)}: the table is rewritten under an ACCESS EXCLUSIVE lock and all reads and writes wait.`,
        });
      }
    }
    return hits;
  },
};
