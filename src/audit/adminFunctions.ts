// Refuses audit query files that call server-administration or side-effect functions. The
// read-only envelope stops writes to tables, not a SELECT that ends other sessions
// (pg_terminate_backend), reloads the configuration, takes advisory locks other sessions wait
// on, reads server files, or reaches another server through dblink. Found in the parse tree
// (every FuncCall node, schema-qualified or not) before anything is sent to the server.
// A function that wraps such a call inside a view or a user-defined function is not seen:
// the least-privileged role (README "Production") is the defence there.
// https://www.postgresql.org/docs/current/functions-admin.html
import { UsageError } from '../errors.js';
import { splitStatements } from '../sql/parse.js';

export interface AdminCall {
  /** The name as written, e.g. pg_catalog.pg_terminate_backend. */
  name: string;
  /** What calling it does, for the message. */
  effect: string;
  line: number;
  column: number;
}

interface Rule {
  match: (name: string) => boolean;
  effect: string;
}

const exact =
  (names: string[]) =>
  (n: string): boolean =>
    names.includes(n);
const prefix =
  (prefixes: string[]) =>
  (n: string): boolean =>
    prefixes.some((p) => n.startsWith(p));

// pg_sleep is allowed: it only delays the audit's own session, and statement_timeout bounds it.
const RULES: Rule[] = [
  { match: exact(['pg_terminate_backend', 'pg_cancel_backend']), effect: 'ends or cancels other sessions' },
  {
    match: exact([
      'pg_reload_conf',
      'pg_rotate_logfile',
      'pg_rotate_logfile_old',
      'pg_promote',
      'pg_log_backend_memory_contexts',
      'pg_log_standby_snapshot',
    ]),
    effect: 'controls the server',
  },
  { match: exact(['set_config']), effect: "changes a setting of the audit's session" },
  { match: prefix(['pg_advisory', 'pg_try_advisory']), effect: 'takes an advisory lock other sessions wait on' },
  {
    match: prefix(['dblink']),
    effect: 'connects to another server (what it runs there escapes the read-only envelope)',
  },
  {
    match: (n) => n.startsWith('lo_') || n === 'loread' || n === 'lowrite',
    effect: 'reads or writes large objects or server files',
  },
  {
    match: (n) => /^pg_(read_file|read_binary_file|stat_file|ls_|file_|logdir_ls|current_logfile)/.test(n),
    effect: 'reads or writes files on the database server',
  },
  { match: exact(['pg_notify']), effect: 'sends a notification to listening sessions' },
  {
    match: (n) =>
      /^pg_(switch_wal|switch_xlog|create_restore_point|start_backup|stop_backup|backup_start|backup_stop|wal_replay_|xlog_replay_)/.test(
        n,
      ),
    effect: 'controls the write-ahead log, backups or replay',
  },
  {
    match: (n) =>
      /^pg_(create|drop|copy)_\w*replication_slot$/.test(n) ||
      /^pg_(replication_slot_advance|logical_slot_|logical_emit_message|replication_origin_|sync_replication_slots)/.test(
        n,
      ),
    effect: 'changes replication slots or origins',
  },
  {
    match: (n) => n.startsWith('pg_stat_reset') || n === 'pg_stat_statements_reset',
    effect: 'resets statistics other tools rely on',
  },
  { match: prefix(['pg_buffercache_evict', 'pg_prewarm']), effect: 'changes what the server keeps in shared buffers' },
  { match: exact(['nextval', 'setval']), effect: 'advances a sequence (not undone by the rollback)' },
  { match: exact(['txid_current', 'pg_current_xact_id']), effect: 'assigns a transaction id' },
  { match: prefix(['query_to_xml', 'cursor_to_xml']), effect: 'runs SQL given as text, out of reach of this check' },
];

/** The effect of calling `name` (last part of a qualified name), or undefined when allowed. */
export function adminEffect(name: string): string | undefined {
  const base = name.toLowerCase().split('.').pop()!;
  return RULES.find((r) => r.match(base))?.effect;
}

/**
 * Every administration or side-effect call in `text` (one statement), with its line and column
 * in the file, given the statement's character offset in `fileText`.
 */
export async function adminCalls(text: string, offsetInFile: number, fileText: string): Promise<AdminCall[]> {
  // Parsed alone, so the tree's locations are byte offsets into `text`.
  const tree = (await splitStatements(text, 'query')).map((st) => st.node);
  const bytes = Buffer.from(text, 'utf8');
  const out: AdminCall[] = [];
  visit(tree, (call) => {
    const parts =
      (call.funcname as { String?: { sval?: string } }[] | undefined)?.map((p) => p.String?.sval ?? '') ?? [];
    const name = parts.join('.');
    const effect = adminEffect(name);
    if (!effect) return;
    const loc = typeof call.location === 'number' ? call.location : 0;
    const at = offsetInFile + bytes.subarray(0, loc).toString('utf8').length;
    const before = fileText.slice(0, at).split('\n');
    out.push({ name, effect, line: before.length, column: before[before.length - 1]!.length + 1 });
  });
  return out;
}

function visit(node: unknown, onCall: (call: Record<string, unknown>) => void): void {
  if (Array.isArray(node)) {
    for (const n of node) visit(n, onCall);
    return;
  }
  if (!node || typeof node !== 'object') return;
  for (const [k, v] of Object.entries(node)) {
    if (k === 'FuncCall' && v && typeof v === 'object') onCall(v as Record<string, unknown>);
    visit(v, onCall);
  }
}

/** Throws a UsageError (exit 2) naming the first such call, its file:line:column and the others. */
export async function refuseAdminCalls(
  text: string,
  offsetInFile: number,
  fileText: string,
  file: string,
): Promise<void> {
  const calls = await adminCalls(text, offsetInFile, fileText);
  if (calls.length === 0) return;
  const [first, ...rest] = calls;
  const others = rest.length ? ` (also ${[...new Set(rest.map((c) => `${c.name}()`))].join(', ')})` : '';
  throw new UsageError(
    `${file}:${first!.line}:${first!.column}: calls ${first!.name}(), which ${first!.effect}${others}: audit queries must not act on the server`,
    {
      hint: 'Remove the call: dbopt audit measures queries the application runs; it refuses server-administration and side-effect functions before anything runs.',
    },
  );
}
