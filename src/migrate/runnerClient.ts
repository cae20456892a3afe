// The client node-pg-migrate's runner is given: the build connection, except for the three
// questions the runner asks about its own table before every pass (does dbopt.migrations exist,
// does it have its primary key, which migrations are applied). This run read those answers
// under the migrate lock, which no other dbopt migrator can change while it is held, so they are
// answered from memory: the runner's two information_schema queries alone cost a cold session
// more than the rest of its bookkeeping. And the runner's record of a migration that ran outside
// a transaction carries that migration's deferred bookkeeping (MigrationSession.deferred) in
// front of it: one round trip and one transaction for both. Any other text, including these
// statements as a later node-pg-migrate may word them, goes to the server as sent.
import type { Client } from 'pg';
import { MIGRATIONS_SCHEMA, MIGRATIONS_TABLE } from './files.js';
import type { MigrationSession } from './session.js';

/** What this run knows of node-pg-migrate's table right before a pass. */
export interface RunnerTableFacts {
  /** dbopt.migrations exists with its primary key (read at the start of the run). */
  ready: boolean;
  /** The applied names, in order, as the pass starts. */
  applied: string[];
}

const schema = MIGRATIONS_SCHEMA;
const table = MIGRATIONS_TABLE;
// Worded as node-pg-migrate's runner words them (ensureMigrationsTable, getRunMigrations).
const TABLE_QUESTION =
  `SELECT table_name FROM information_schema.tables WHERE table_schema = '${schema}' ` + `AND table_name = '${table}'`;
const KEY_QUESTION =
  `SELECT constraint_name FROM information_schema.table_constraints WHERE table_schema = '${schema}' ` +
  `AND table_name = '${table}' AND constraint_type = 'PRIMARY KEY'`;
const APPLIED_QUESTION = `SELECT name FROM "${schema}"."${table}" ORDER BY run_on, id`;

/** node-pg-migrate's record of a migration applied (up) or reverted (down), as it words it. */
function runnerRecord(name: string): Set<string> {
  return new Set([
    `INSERT INTO "${schema}"."${table}" (name, run_on) VALUES ('${name}', NOW());`,
    `DELETE FROM "${schema}"."${table}" WHERE name='${name}';`,
  ]);
}

export function runnerClient(
  build: Client,
  facts: RunnerTableFacts,
  session?: Pick<MigrationSession, 'deferred'>,
): Client {
  const answers = new Map<string, Record<string, string>[]>([
    [APPLIED_QUESTION, facts.applied.map((name) => ({ name }))],
  ]);
  if (facts.ready) {
    answers.set(TABLE_QUESTION, [{ table_name: table }]);
    // The runner only counts the rows of this answer.
    answers.set(KEY_QUESTION, [{ constraint_name: `${table}_pkey` }]);
  }
  const query = (...args: unknown[]): unknown => {
    const known = typeof args[0] === 'string' && args[1] === undefined ? answers.get(args[0]) : undefined;
    if (known) return Promise.resolve({ rows: known, rowCount: known.length, command: 'SELECT', fields: [] });
    const deferred = session?.deferred;
    if (deferred && typeof args[0] === 'string' && args[1] === undefined && runnerRecord(deferred.name).has(args[0])) {
      session.deferred = undefined;
      return build.query(`${deferred.sql} ${args[0]}`);
    }
    return (build.query as (...a: unknown[]) => unknown)(...args);
  };
  // node-pg-migrate takes any object with a query() for a client it does not own, and uses only that.
  return { query } as unknown as Client;
}
