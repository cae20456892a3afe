// Reading a statement's options from the parse tree, the way PostgreSQL itself reads them:
// `REINDEX (CONCURRENTLY false)`, `VACUUM (FULL off)` and `VACUUM FULL` are told apart by the
// option's value (defGetBoolean), never by a word appearing somewhere in the statement.
// https://www.postgresql.org/docs/current/sql-reindex.html, .../sql-vacuum.html

interface DefElem {
  defname?: string;
  arg?: { Integer?: { ival?: number }; String?: { sval?: string }; Boolean?: { boolval?: boolean } };
}

/**
 * The boolean value of option `name` in a DefElem list: undefined when absent, true for a bare
 * option, otherwise PostgreSQL's reading of true/false/on/off/1/0. A value PostgreSQL would
 * refuse reads as undefined (the statement fails anyway; classify it as the safer ordinary kind).
 */
export function booleanOption(options: unknown, name: string): boolean | undefined {
  if (!Array.isArray(options)) return undefined;
  let value: boolean | undefined;
  for (const o of options as { DefElem?: DefElem }[]) {
    const d = o.DefElem;
    if (!d || d.defname?.toLowerCase() !== name) continue;
    value = readBoolean(d);
  }
  return value;
}

function readBoolean(d: DefElem): boolean | undefined {
  if (!d.arg) return true;
  if (d.arg.Integer) {
    const n = d.arg.Integer.ival ?? 0;
    return n === 0 ? false : n === 1 ? true : undefined;
  }
  if (d.arg.Boolean) return Boolean(d.arg.Boolean.boolval);
  const s = d.arg.String?.sval?.toLowerCase();
  if (s === 'true' || s === 'on') return true;
  if (s === 'false' || s === 'off') return false;
  return undefined;
}

type Node = Record<string, unknown>;

function only(node: Node): [string, Node] {
  const type = Object.keys(node)[0] ?? 'Unknown';
  return [type, (node[type] ?? {}) as Node];
}

/** REINDEX ... CONCURRENTLY (or `(CONCURRENTLY [true|on|1])`); `(CONCURRENTLY false)` is not. */
export function isConcurrentReindex(node: Node): boolean {
  const [type, body] = only(node);
  return type === 'ReindexStmt' && booleanOption(body.params, 'concurrently') === true;
}

/** VACUUM FULL / VACUUM (FULL [true]): rewrites the table under ACCESS EXCLUSIVE. */
export function isVacuumFull(node: Node): boolean {
  const [type, body] = only(node);
  return type === 'VacuumStmt' && Boolean(body.is_vacuumcmd) && booleanOption(body.options, 'full') === true;
}

/** ALTER TABLE ... DETACH PARTITION ... CONCURRENTLY (PostgreSQL 14+). */
export function isConcurrentDetach(node: Node): boolean {
  const [type, body] = only(node);
  if (type !== 'AlterTableStmt') return false;
  return (
    (body.cmds ?? []) as { AlterTableCmd?: { subtype?: string; def?: { PartitionCmd?: { concurrent?: boolean } } } }[]
  ).some(
    (c) => c.AlterTableCmd?.subtype === 'AT_DetachPartition' && Boolean(c.AlterTableCmd.def?.PartitionCmd?.concurrent),
  );
}

/**
 * Statements that take the concurrent path: they wait for every older transaction like an index
 * build does, so they get the build's lock budget and no statement_timeout.
 */
export function isConcurrentStatement(node: Node): boolean {
  const [type, body] = only(node);
  if ((type === 'IndexStmt' || type === 'DropStmt') && body.concurrent) return true;
  return isConcurrentReindex(node) || isConcurrentDetach(node);
}
