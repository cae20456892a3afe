// What every command needs before doing its work: the resolved config, where to connect
// (or an embedded server), a logger on stderr, and the report output.
import path from 'node:path';
import { writeFileSync } from 'node:fs';
import { loadConfig, type Config, type ConfigOverrides } from '../config.js';
import { resolveConnection, type ConnectionTarget } from '../db/connection.js';
import type { EmbeddedServer } from '../db/embedded.js';
import { UsageError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Report } from '../report.js';
import { secrets, stopSignal, writeErr } from './runtime.js';

export interface GlobalOptions {
  config?: string;
  databaseUrl?: string;
  embedded?: boolean;
  format?: 'table' | 'json' | 'junit' | 'markdown' | 'html';
  output?: string;
  color?: boolean;
  quiet?: boolean;
  verbose?: boolean;
  // command options merged in by optsWithGlobals()
  [key: string]: unknown;
}

export interface CommandContext {
  config: Config;
  opts: GlobalOptions;
  logger: Logger;
  signal: AbortSignal;
  /** Resolve a config path against the config file's directory. */
  resolvePath(p: string): string;
}

export interface DbContext extends CommandContext {
  target: ConnectionTarget;
  /** Stop what the context started (the embedded server). */
  close(): Promise<void>;
}

export function intOption(value: unknown, flag: string, min = 1): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min)
    throw new UsageError(`${flag}: must be an integer of at least ${min}, got ${JSON.stringify(value)}`, {
      hint: `Pass ${flag} ${min}, for example.`,
    });
  return n;
}

export function makeLogger(opts: GlobalOptions): Logger {
  const tty = Boolean(process.stderr.isTTY);
  const stamp = (): string => (tty ? '' : `[${new Date().toISOString()}] `);
  return {
    info: (m) => {
      if (!opts.quiet) writeErr(`${stamp()}${m}`);
    },
    warn: (m) => writeErr(`${stamp()}warning: ${m}`),
    debug: (m) => {
      if (opts.verbose) writeErr(`${stamp()}${m}`);
    },
    isTTY: tty && !opts.quiet,
    progress: (line) => {
      if (opts.quiet) return;
      if (tty) process.stderr.write(`\r\u001b[2K${line}`);
      else writeErr(`${stamp()}${line}`);
    },
    progressDone: () => {
      if (tty && !opts.quiet) process.stderr.write('\r\u001b[2K');
    },
  };
}

/** The flag that sets each config key, named when its value is wrong. */
export const FLAG_NAMES: Record<string, string> = {
  'database.url': '--database-url',
  'database.directUrl': '--direct-url',
  'migrate.dir': '--dir',
  'audit.queries': '--queries',
  'audit.baseline': '--baseline',
  'audit.runs': '--runs',
  'audit.load.concurrency': '--concurrency',
  'audit.load.connections': '--connections',
  'audit.load.rate': '--rate',
  'audit.load.duration': '--duration',
  'refresh.concurrency': '--concurrency',
  'seed.scale': '--scale',
  'seed.dir': '--dir',
};

export async function commandContext(opts: GlobalOptions, overrides: ConfigOverrides = {}): Promise<CommandContext> {
  const config = await loadConfig({ configPath: opts.config, overrides, overrideSources: FLAG_NAMES });
  return {
    config,
    opts,
    logger: makeLogger(opts),
    signal: stopSignal,
    resolvePath: (p) => path.resolve(config.rootDir, p),
  };
}

export async function dbContext(opts: GlobalOptions, overrides: ConfigOverrides = {}): Promise<DbContext> {
  const base = await commandContext(opts, overrides);
  if (opts.embedded) {
    if (opts.databaseUrl)
      throw new UsageError('--embedded and --database-url cannot be used together', { hint: 'Drop one of them.' });
    const server = await startEmbeddedServer(base.config.rootDir, base.logger);
    server.target.unresponsiveAfterMs = base.config.database.unresponsiveAfterMs;
    return { ...base, target: server.target, close: () => server.stop() };
  }
  const target = resolveConnection({ flagUrl: opts.databaseUrl, configUrl: base.config.database.url });
  target.unresponsiveAfterMs = base.config.database.unresponsiveAfterMs;
  secrets.push(...target.secrets);
  base.logger.debug(`Connecting to ${target.display} (from ${target.source})`);
  return { ...base, target, close: async () => undefined };
}

/** The embedded PostgreSQL's directory under the project root (--embedded and dbopt demo share it). */
export function embeddedDir(rootDir: string): string {
  return path.join(rootDir, '.dbopt', 'embedded');
}

/** Start (or reuse) the embedded PostgreSQL for --embedded and dbopt demo, saying so on stderr. */
export async function startEmbeddedServer(rootDir: string, logger: Logger): Promise<EmbeddedServer> {
  const { startEmbedded } = await import('../db/embedded.js');
  const dir = embeddedDir(rootDir);
  logger.info(`Starting the embedded PostgreSQL (data in ${path.relative(process.cwd(), dir) || dir}) ...`);
  const server = await startEmbedded({ dir, resetHint: 'dbopt demo --reset does that' });
  secrets.push(...server.target.secrets);
  for (const d of server.openedDirectories) {
    logger.warn(`opened ${d} for traversal by the postgres user (chmod o+x) so it can reach its data directory`);
  }
  logger.info(
    `Using the embedded PostgreSQL ${server.target.display}${server.startedHere ? '' : ' (already running)'}`,
  );
  return server;
}

/** Run `work` with a database context, always closing it (the embedded server stops). */
export async function withDb<T>(
  opts: GlobalOptions,
  overrides: ConfigOverrides,
  work: (ctx: DbContext) => Promise<T>,
): Promise<T> {
  const ctx = await dbContext(opts, overrides);
  try {
    return await work(ctx);
  } finally {
    await ctx.close();
  }
}

/**
 * Like withDb, for session work (migrate, refresh-views, seed): ctx.target is the direct
 * connection (database.directUrl, default url), refused through a transaction-mode pooler
 * without one, and refused when it is a standby.
 */
export async function withSessionDb<T>(
  opts: GlobalOptions,
  overrides: ConfigOverrides,
  command: string,
  work: (ctx: DbContext) => Promise<T>,
): Promise<T> {
  return withDb(opts, overrides, async (ctx) => {
    const { refuseStandby, sessionTarget } = await import('../db/fleet.js');
    const target = opts.embedded
      ? ctx.target
      : sessionTarget(command, {
          url: ctx.target,
          flagDirectUrl: opts.directUrl as string | undefined,
          database: ctx.config.database,
        });
    if (target !== ctx.target) {
      secrets.push(...target.secrets);
      ctx.logger.debug(`Session work connects to ${target.display} (from ${target.source})`);
    }
    await refuseStandby(command, target, ctx.config.database);
    return work({ ...ctx, target });
  });
}

/** --output FILE: a path that cannot be written is a usage error naming it, not a crash. */
export function writeOutputFile(file: string, text: string): void {
  try {
    writeFileSync(file, text);
  } catch (err) {
    throw new UsageError(`--output ${file}: cannot write the report: ${(err as Error).message}`, {
      hint: 'Point --output at a writable file in an existing directory.',
    });
  }
}

/** Render and print (or write) a report; returns the exit code it implies. */
export async function emit(
  report: Report,
  opts: GlobalOptions,
  defaultFormat: 'table' | 'json' = 'table',
): Promise<number> {
  const { renderReport } = await import('./render/index.js');
  const format = opts.format ?? defaultFormat;
  const color = opts.output ? false : opts.color;
  const text = await renderReport(report, format, { color, verbose: Boolean(opts.verbose) });
  if (opts.output) {
    writeOutputFile(opts.output, text);
  } else {
    process.stdout.write(text);
  }
  if (process.env.GITHUB_ACTIONS === 'true') {
    const { emitGithub } = await import('./render/github.js');
    emitGithub(report);
  }
  return report.ok ? 0 : 1;
}
