// Builds the dbopt program. Command modules are imported only when their command runs, so
// `dbopt --help` pays for commander alone (bench/startup measures this).
import { Command, Option } from 'commander';
import { readFileSync } from 'node:fs';
import { EXIT_CODE_HELP, handleFatal, installSignalHandlers } from './runtime.js';
import type { GlobalOptions } from './context.js';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

const program = new Command();
program
  .name('dbopt')
  .description(
    'Keep a PostgreSQL database fast and prove it in CI: safe performance migrations, scheduled materialized-view refresh, EXPLAIN-based query audits.',
  )
  .version(pkg.version, '-V, --version')
  .option('-c, --config <file>', 'config file (default: dbopt.config.json or .yaml, searched upward)')
  .option('-d, --database-url <url>', 'connection URL (overrides DATABASE_URL and the config)')
  .option(
    '--direct-url <url>',
    'session connection straight to the primary for migrate, refresh-views, seed (overrides DATABASE_DIRECT_URL and database.directUrl)',
  )
  .option('--embedded', 'use the embedded PostgreSQL kept in .dbopt/embedded/')
  .addOption(
    new Option('-f, --format <format>', 'output format (default: table)').choices([
      'table',
      'json',
      'junit',
      'markdown',
      'html',
    ]),
  )
  .option('-o, --output <file>', 'write the report to a file instead of stdout')
  .option('--color', 'force colour')
  .option('--no-color', 'no colour (NO_COLOR is honoured too)')
  .option('-q, --quiet', 'print only the report and errors')
  .option('-v, --verbose', 'print SQL and timing details')
  .addHelpText('after', `\n${EXIT_CODE_HELP}`)
  .showHelpAfterError('(run dbopt --help for usage)')
  .configureOutput({ outputError: (str, write) => write(str) })
  .exitOverride();

function globals(cmd: Command): GlobalOptions {
  return cmd.optsWithGlobals() as GlobalOptions;
}

const migrate = program
  .command('migrate')
  .description('apply pending migrations (production-safe index builds); subcommands: up, down, status, create, lint')
  .option('--dir <dir>', 'migrations directory (config migrate.dir)')
  .option('--dry-run', 'print the SQL that would run; take no lock, change nothing')
  .option('--count <n>', 'apply at most N migrations')
  .option('--no-lint', 'apply even when migrate lint reports errors')
  .action(async (_opts, cmd: Command) => {
    const { runMigrateCommand } = await import('./commands/migrate.js');
    await runMigrateCommand('up', globals(cmd), []);
  });
for (const [name, desc] of [
  ['up', 'apply pending migrations'],
  ['down', 'revert the last applied migration (or --count N)'],
  ['status', 'list applied, pending and modified migrations'],
] as const) {
  migrate
    .command(name)
    .description(desc)
    .option('--dir <dir>', 'migrations directory (config migrate.dir)')
    .option('--dry-run', 'print the SQL that would run; take no lock, change nothing')
    .option('--count <n>', 'number of migrations')
    .option('--no-lint', 'apply even when migrate lint reports errors')
    .action(async (_opts, cmd: Command) => {
      const { runMigrateCommand } = await import('./commands/migrate.js');
      await runMigrateCommand(name, globals(cmd), []);
    });
}
migrate
  .command('create <name>')
  .description('create a new SQL migration file')
  .option('--dir <dir>', 'migrations directory (config migrate.dir)')
  .action(async (name: string, _opts, cmd: Command) => {
    const { runMigrateCommand } = await import('./commands/migrate.js');
    await runMigrateCommand('create', globals(cmd), [name]);
  });
migrate
  .command('lint [paths...]')
  .description(
    'check migration files or directories for statements that lock production tables (sized by the ' +
      'real tables when given a connection)',
  )
  .option('--dir <dir>', 'migrations directory (config migrate.dir)')
  .action(async (files: string[], _opts, cmd: Command) => {
    const { runMigrateCommand } = await import('./commands/migrate.js');
    await runMigrateCommand('lint', globals(cmd), files);
  });

program
  .command('seed')
  .description('load the reference workload data (deterministic, set-based; ends with ANALYZE)')
  .option('--scale <n>', 'scale factor: 1 ≈ 20k users, 300k messages; 10 ≈ 200k users, 3M messages')
  .option('--dir <dir>', 'seed directory (config seed.dir)')
  .option('--force', 'empty the workload tables and load again even when data is present')
  .option('--cache', 'fill the configured Redis (cache.namespaces) for the seeded bots instead; no PostgreSQL needed')
  .action(async (_opts, cmd: Command) => {
    const { runSeedCommand } = await import('./commands/seed.js');
    await runSeedCommand(globals(cmd));
  });

program
  .command('refresh-views [views...]')
  .description('refresh materialized views that are due, in dependency order, without blocking readers')
  .option('--all', 'refresh every managed view, due or not')
  .option('--concurrency <n>', 'independent views refreshed at once (config refresh.concurrency)')
  .option('--dry-run', 'print the plan: order, mode and why')
  .option('--status', 'show schedule, last success, age, overdue, mode, duration and size of each view')
  .option('--watch', 'keep running and refresh on schedule (SIGTERM stops it cleanly)')
  .action(async (views: string[], _opts, cmd: Command) => {
    const { runRefreshCommand } = await import('./commands/refresh.js');
    await runRefreshCommand(globals(cmd), views);
  });

program
  .command('audit')
  .description('the CI gate: run declared queries against latency budgets, plan baselines and cache hit ratios')
  .option('--queries <dir>', 'directory of annotated .sql files (config audit.queries)')
  .option('--baseline <file>', 'baseline file (config audit.baseline)')
  .option('--runs <n>', 'timed executions per query (config audit.runs)')
  .option('--update-baseline', 'write the baseline from this run')
  .option('--strict', 'count warnings as findings (exit 1)')
  .option('--only <names...>', 'audit only these queries')
  .option(
    '--node <node>',
    'primary, a replica name from database.replicas, or all (side by side, with replication lag)',
  )
  .option('--window <duration>', 'minimum Redis hit-ratio window (config cache.window); the audit runs inside it')
  .option('--load', 'then run the queries under load (config audit.load; see docs/load.md)')
  .option('--concurrency <n>', 'load: requests in flight, closed model (audit.load.concurrency; implies --load)')
  .option('--connections <n>', 'load: connections (audit.load.connections; implies --load)')
  .option('--rate <n>', 'load: requests per second set in advance, open model (audit.load.rate; implies --load)')
  .option('--arrivals <kind>', 'load, open model: poisson or uniform gaps (audit.load.arrivals; implies --load)')
  .option('--duration <time>', 'load: measured time after the warm-up, e.g. 10s (audit.load.duration; implies --load)')
  .option('--load-only <names...>', 'load: only these queries (names allow-writes queries in; implies --load)')
  .action(async (_opts, cmd: Command) => {
    const { runAuditCommand } = await import('./commands/audit.js');
    await runAuditCommand(globals(cmd));
  });

program
  .command('report')
  .description(
    'health figures for a person: cache hit ratios, index usage, view staleness, top statements, the Redis cache tier',
  )
  .option('--watch', 'redraw the report every --interval in the terminal until q or Ctrl-C')
  .option('--interval <duration>', 'time between redraws with --watch (default: 5s)')
  .option(
    '--node <node>',
    'primary, a replica name from database.replicas, or all (side by side, with replication lag)',
  )
  .option('--window <duration>', 'time between the two Redis INFO reads of the window hit ratio (config cache.window)')
  .action(async (_opts, cmd: Command) => {
    const { runReportCommand } = await import('./commands/report.js');
    await runReportCommand(globals(cmd));
  });

program
  .command('demo')
  .description('embedded PostgreSQL, migrate, seed, refresh views, audit and report in one command')
  .option('--scale <n>', 'seed scale factor (default 1)')
  .option('--reset', 'start from an empty cluster')
  .action(async (_opts, cmd: Command) => {
    const { runDemoCommand } = await import('./commands/demo.js');
    await runDemoCommand(globals(cmd));
  });

installSignalHandlers();
try {
  await program.parseAsync(process.argv);
} catch (err) {
  await handleFatal(err, program.opts() as GlobalOptions);
}
