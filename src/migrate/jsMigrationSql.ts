// The SQL a JS/TS migration would run, without a database: node-pg-migrate's MigrationBuilder
// is handed a recorder in place of its db (pgm.db.query calls are recorded too), so lint and
// --dry-run see the statements node-pg-migrate would send.
import path from 'node:path';

export interface JsMigrationSection {
  /** One entry per node-pg-migrate step (each may hold several statements). */
  steps: string[];
  /** node-pg-migrate would wrap the steps in BEGIN/COMMIT. */
  transaction: boolean;
}

export interface JsMigrationSql {
  up: JsMigrationSection;
  down?: JsMigrationSection;
}

type Action = ((pgm: unknown, done?: () => void) => unknown) | false | undefined;

export async function jsMigrationSql(file: string): Promise<JsMigrationSql> {
  const { MigrationBuilder, jiti } = await import('node-pg-migrate');
  const mod = (await jiti.import(path.resolve(file))) as {
    up?: Action;
    down?: Action;
    shorthands?: Record<string, unknown>;
  };
  const render = async (action: Action, reverse: boolean): Promise<JsMigrationSection | undefined> => {
    if (typeof action !== 'function') return undefined;
    const recorded: string[] = [];
    const recorder = {
      query: async (q: string | { text: string }) => {
        recorded.push(typeof q === 'string' ? q : q.text);
        return { rows: [], rowCount: 0 };
      },
      select: async (q: string | { text: string }) => {
        recorded.push(typeof q === 'string' ? q : q.text);
        return [];
      },
      column: async () => [],
      createConnection: async () => undefined,
      connected: () => true,
      addBeforeCloseListener: () => undefined,
      close: async () => undefined,
    };
    const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined, debug: () => undefined };
    const pgm = new MigrationBuilder(recorder as never, mod.shorthands as never, false, quiet);
    if (reverse) pgm.enableReverseMode();
    if (action.length === 2) await new Promise<void>((resolve) => void action(pgm, resolve));
    else await action(pgm);
    return { steps: [...recorded, ...pgm.getSqlSteps()], transaction: pgm.isUsingTransaction() };
  };
  const up = (await render(mod.up, false)) ?? { steps: [], transaction: true };
  // node-pg-migrate reverses `up` when `down` is not exported (and refuses when it is false).
  const down =
    mod.down === undefined ? await render(mod.up, true).catch(() => undefined) : await render(mod.down, false);
  return { up, down };
}
