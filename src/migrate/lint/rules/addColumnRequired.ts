// add-column-required: ADD COLUMN ... NOT NULL without a DEFAULT fails on a table that has rows
// ("column contains null values") and breaks inserts of the running application version.
import { altersOfExistingTables, relName, typeOf, type ColumnDef, type LintRule, type RuleHit } from '../types.js';
import { SERIAL_TYPES } from './addColumnSerial.js';

export const addColumnRequired: LintRule = {
  code: 'add-column-required',
  severity: 'error',
  fix: 'Give the column a constant DEFAULT (instant since PostgreSQL 11), or add it nullable and SET NOT NULL after a backfill.',
  doc: 'add-column-required',
  blocks: 'the migration itself fails on a non-empty table; old inserts fail after it',
  squawk: 'adding-required-field',
  impact: 'none',
  check(unit) {
    const hits: RuleHit[] = [];
    for (const { stmt, rel, cmds } of altersOfExistingTables(unit)) {
      for (const cmd of cmds) {
        if (cmd.subtype !== 'AT_AddColumn') continue;
        const col = cmd.def?.ColumnDef as ColumnDef | undefined;
        const types = new Set((col?.constraints ?? []).map((c) => c.Constraint.contype));
        if (!types.has('CONSTR_NOTNULL') && !types.has('CONSTR_PRIMARY')) continue;
        if (
          types.has('CONSTR_DEFAULT') ||
          types.has('CONSTR_IDENTITY') ||
          types.has('CONSTR_GENERATED') ||
          SERIAL_TYPES.has(typeOf(col!))
        )
          continue;
        hits.push({
          stmt,
          rel,
          message: `ADD COLUMN ${col?.colname ?? ''} NOT NULL without a DEFAULT on ${relName(rel)}: PostgreSQL refuses it once the table has rows, and inserts from the running code (which omit the column) fail.`,
        });
      }
    }
    return hits;
  },
};
