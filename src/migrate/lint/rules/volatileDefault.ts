// add-column-volatile-default: ADD COLUMN with a volatile DEFAULT (or a stored generated
// column) rewrites the whole table under an ACCESS EXCLUSIVE lock. A constant or stable
// default (now(), 'x') is stored once in the catalog since PostgreSQL 11 and is instant.
import { altersOfExistingTables, relName, type LintRule, type RuleHit } from '../types.js';

const VOLATILE = new Set([
  'random',
  'gen_random_uuid',
  'uuid_generate_v1',
  'uuid_generate_v1mc',
  'uuid_generate_v4',
  'uuidv4',
  'uuidv7',
  'clock_timestamp',
  'timeofday',
  'nextval',
  'txid_current',
  'statement_timestamp',
  'setseed',
  'random_normal',
]);

function callsVolatile(expr: unknown): string | undefined {
  if (!expr || typeof expr !== 'object') return undefined;
  if (Array.isArray(expr)) {
    for (const e of expr) {
      const hit = callsVolatile(e);
      if (hit) return hit;
    }
    return undefined;
  }
  const obj = expr as Record<string, unknown>;
  const fn = obj.FuncCall as { funcname?: { String: { sval: string } }[] } | undefined;
  if (fn?.funcname) {
    const name = fn.funcname[fn.funcname.length - 1]?.String.sval.toLowerCase() ?? '';
    if (VOLATILE.has(name)) return `${name}()`;
  }
  for (const v of Object.values(obj)) {
    const hit = callsVolatile(v);
    if (hit) return hit;
  }
  return undefined;
}

export const volatileDefault: LintRule = {
  code: 'add-column-volatile-default',
  severity: 'error',
  fix: 'Add the column without a default (or with a constant one), then backfill it in batches and SET DEFAULT afterwards.',
  doc: 'add-column-volatile-default',
  blocks: 'reads and writes of the table for the whole rewrite',
  squawk: 'adding-field-with-default',
  impact: 'rewrite',
  check(unit) {
    const hits: RuleHit[] = [];
    for (const { stmt, rel, cmds } of altersOfExistingTables(unit)) {
      for (const cmd of cmds) {
        if (cmd.subtype !== 'AT_AddColumn') continue;
        const col = cmd.def?.ColumnDef as
          | {
              colname?: string;
              constraints?: { Constraint: { contype: string; raw_expr?: unknown; generated_when?: string } }[];
            }
          | undefined;
        for (const c of col?.constraints ?? []) {
          const con = c.Constraint;
          const volatile = con.contype === 'CONSTR_DEFAULT' ? callsVolatile(con.raw_expr) : undefined;
          const generated = con.contype === 'CONSTR_GENERATED';
          if (volatile || generated) {
            hits.push({
              stmt,
              rel,
              message: `ADD COLUMN ${col?.colname ?? ''} ${generated ? 'GENERATED ... STORED' : `with DEFAULT ${volatile}`} rewrites every row of ${relName(rel)} under an ACCESS EXCLUSIVE lock: all reads and writes of the table wait for the rewrite.`,
            });
          }
        }
      }
    }
    return hits;
  },
};
