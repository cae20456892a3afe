// Finds, loads and validates dbopt.config.json / .yaml, then layers flags > environment > file > defaults.
// One spec drives validation, defaults, environment overrides and the shipped JSON Schema
// (schema/dbopt.config.schema.json), so the three cannot drift apart.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { ConfigError } from './errors.js';
import { parseDuration } from './duration.js';
import { isCronExpression } from './schedule.js';
import { cacheJsonSchema, resolveCacheSection, type CacheConfig } from './cache/config.js';

type Leaf =
  | { type: 'string'; description: string; default?: string }
  | { type: 'duration'; description: string; default: string; min?: number }
  | { type: 'schedule'; description: string; default?: string }
  | { type: 'size'; description: string; default: string }
  | { type: 'integer'; description: string; default: number; minimum: number; maximum?: number }
  | { type: 'number'; description: string; default: number; minimum: number; maximum?: number }
  | { type: 'boolean'; description: string; default: boolean }
  | { type: 'stringArray'; description: string; default: string[] }
  | { type: 'enum'; description: string; values: string[]; default?: string }
  | { type: 'nodes'; description: string; default: NodeSpec[] }
  | { type: 'lint'; description: string; default: boolean }
  | { type: 'optionalNumber'; description: string; default: null; minimum: number };

/** A read replica of database.replicas. */
export interface NodeSpec {
  name: string;
  url: string;
}

interface Section {
  type: 'object';
  description: string;
  properties: Record<string, Leaf | MapSpec | GroupSpec>;
}
/** A nested object of leaves, e.g. audit.load. */
interface GroupSpec {
  type: 'group';
  description: string;
  properties: Record<string, Leaf>;
}
interface MapSpec {
  type: 'map';
  description: string;
  values: Leaf;
  default: Record<string, string>;
}

export const CONFIG_SPEC: Record<string, Section> = {
  database: {
    type: 'object',
    description: 'Where to connect. Overridden by --database-url and DATABASE_URL.',
    properties: {
      url: {
        type: 'string',
        description:
          'postgres://user@host:5432/db (keep the password in PGPASSWORD or ~/.pgpass, not here); may be a pooler',
      },
      directUrl: {
        type: 'string',
        description:
          'A session-capable connection straight to the primary, for migrate, refresh-views and seed (default: url). Overridden by --direct-url and DATABASE_DIRECT_URL.',
      },
      pooler: {
        type: 'enum',
        description:
          'What url goes through: "transaction" (PgBouncer pool_mode=transaction: session work then needs directUrl), "session" or "none"',
        values: ['none', 'session', 'transaction'],
        default: 'none',
      },
      replicas: {
        type: 'nodes',
        description:
          'Read replicas audit --node and report --node measure: [{ "name": "replica-1", "url": "postgres://..." }]',
        default: [],
      },
      unresponsiveAfter: {
        type: 'duration',
        description:
          'How long the server may give no answer on any connection (a frozen host, a silent network) before dbopt stops waiting and exits 3; slow but answering work is never cut short',
        default: '60s',
        min: 100,
      },
    },
  },
  fleet: {
    type: 'object',
    description: 'Replicas and poolers',
    properties: {
      maxReplicaLag: { type: 'duration', description: 'Replay lag above this fails replica-lag-high', default: '30s' },
    },
  },
  migrate: {
    type: 'object',
    description: 'dbopt migrate',
    properties: {
      dir: { type: 'string', description: 'Directory of migration files', default: 'migrations' },
      lockTimeout: {
        type: 'duration',
        description: 'lock_timeout for each try of DDL other than index builds',
        default: '2s',
      },
      lockRetries: {
        type: 'integer',
        description: 'Tries after the first when DDL hits lock_timeout (exponential backoff with jitter)',
        default: 10,
        minimum: 0,
        maximum: 100,
      },
      lockWait: {
        type: 'duration',
        description: 'How long to wait for another migrator to finish before exiting 4',
        default: '30s',
      },
      buildLockTimeout: {
        type: 'duration',
        description: 'lock_timeout for CREATE INDEX CONCURRENTLY (it waits for older transactions)',
        default: '10m',
      },
      maintenanceWorkMem: { type: 'size', description: 'maintenance_work_mem for index builds', default: '256MB' },
      parallelWorkers: {
        type: 'integer',
        description: 'max_parallel_maintenance_workers for index builds',
        default: 2,
        minimum: 0,
        maximum: 64,
      },
      lint: {
        type: 'lint',
        description:
          'Run dbopt migrate lint before applying and refuse on errors: true/false, or { "enabled": true, "rules": { "prefer-bigint": "warning" }, "smallTable": 10000 }',
        default: true,
      },
    },
  },
  refresh: {
    type: 'object',
    description: 'dbopt refresh-views',
    properties: {
      include: {
        type: 'stringArray',
        description: 'Views to manage: schema.name patterns, * matches any run of characters',
        default: ['*.*'],
      },
      exclude: { type: 'stringArray', description: 'Views to leave alone (patterns as in include)', default: [] },
      concurrency: {
        type: 'integer',
        description: 'Independent views refreshed at once',
        default: 2,
        minimum: 1,
        maximum: 64,
      },
      defaultSchedule: {
        type: 'schedule',
        description: 'Schedule of views without their own: an interval ("1h") or a cron expression',
        default: '1h',
      },
      schedules: {
        type: 'map',
        description: 'Per-view schedule: "schema.view": "1h" or a cron expression',
        values: { type: 'schedule', description: 'interval or cron expression' },
        default: {},
      },
      statementTimeout: { type: 'duration', description: 'statement_timeout of one refresh', default: '30m' },
      lockTimeout: { type: 'duration', description: 'lock_timeout of one refresh', default: '5s' },
    },
  },
  audit: {
    type: 'object',
    description: 'dbopt audit',
    properties: {
      queries: { type: 'string', description: 'Directory of annotated .sql query files', default: 'queries' },
      baseline: {
        type: 'string',
        description: 'Baseline file written by --update-baseline',
        default: 'queries/baseline.json',
      },
      tiers: {
        type: 'map',
        description: 'Latency budget (p95) per tier',
        values: { type: 'duration', description: 'budget', default: '50ms' },
        default: { hot: '50ms', warm: '80ms', cold: '100ms' },
      },
      runs: { type: 'integer', description: 'Timed executions per query', default: 30, minimum: 1, maximum: 100000 },
      warmup: {
        type: 'integer',
        description: 'Untimed executions before timing',
        default: 5,
        minimum: 0,
        maximum: 10000,
      },
      planCache: {
        type: 'enum',
        description:
          'Plans of the timed runs: "auto" (the server\'s plan cache: a generic plan after five runs, ' +
          'as applications run prepared statements) or "custom" (plan_cache_mode=force_custom_plan)',
        values: ['auto', 'custom'],
        default: 'auto',
      },
      costRegression: {
        type: 'number',
        description: 'Allowed rise of estimated cost over the baseline (0.25 = 25 %)',
        default: 0.25,
        minimum: 0,
      },
      seqScanRows: {
        type: 'integer',
        description: 'A seq scan on a relation with more rows than this is an error',
        default: 10000,
        minimum: 0,
      },
      minCacheHitRatio: {
        type: 'number',
        description: 'Cache hit ratio below this is a warning',
        default: 0.9,
        minimum: 0,
        maximum: 1,
      },
      minBlocks: {
        type: 'integer',
        description: 'Blocks needed before a cache hit ratio is judged',
        default: 1000,
        minimum: 0,
      },
      statementTimeout: {
        type: 'duration',
        description: 'statement_timeout of each audited statement and of its catalog reads',
        default: '5s',
      },
      lockTimeout: {
        type: 'duration',
        description: 'lock_timeout of each audited statement and of its catalog reads',
        default: '1s',
      },
      load: {
        type: 'group',
        description: 'dbopt audit --load: the declared queries under load',
        properties: {
          concurrency: {
            type: 'integer',
            description: 'Requests in flight (closed model)',
            default: 1000,
            minimum: 1,
            maximum: 100000,
          },
          connections: { type: 'integer', description: 'Load connections', default: 16, minimum: 1, maximum: 10000 },
          rate: {
            type: 'optionalNumber',
            description: 'Requests per second on a schedule set in advance (open model); null = closed model',
            default: null,
            minimum: 1,
          },
          arrivals: {
            type: 'enum',
            description:
              'Open model: poisson (exponential gaps, as independent users and pgbench --rate) ' +
              'or uniform (evenly spaced)',
            values: ['poisson', 'uniform'],
            default: 'poisson',
          },
          duration: { type: 'duration', description: 'Measured time, after the warm-up', default: '10s' },
          warmup: { type: 'duration', description: 'Load before measuring (not counted)', default: '2s' },
          maxConnectionShare: {
            type: 'number',
            description: "Most of the server's free connections the load may take",
            default: 0.5,
            minimum: 0,
            maximum: 1,
          },
        },
      },
    },
  },
  seed: {
    type: 'object',
    description: 'dbopt seed',
    properties: {
      dir: { type: 'string', description: 'Directory of seed .sql files', default: 'seeds' },
      scale: {
        type: 'integer',
        description: 'Scale factor of the generated data',
        default: 1,
        minimum: 1,
        maximum: 1000,
      },
    },
  },
};

export interface Config {
  /** The file the values came from, if any. */
  configPath?: string;
  /** Directory that relative paths in the config are resolved against. */
  rootDir: string;
  database: {
    url?: string;
    unresponsiveAfterMs: number;
    directUrl?: string;
    pooler: 'none' | 'session' | 'transaction';
    replicas: NodeSpec[];
  };
  fleet: { maxReplicaLagMs: number };
  migrate: {
    dir: string;
    lockTimeoutMs: number;
    lockRetries: number;
    lockWaitMs: number;
    buildLockTimeoutMs: number;
    maintenanceWorkMem: string;
    parallelWorkers: number;
    lint: boolean;
    /** migrate.lint.rules: rule code -> off | warning | error (turns opt-in rules on). */
    lintRules: Record<string, 'off' | 'warning' | 'error'>;
    /** migrate.lint.smallTable: lock findings on tables with fewer rows are notes. */
    lintSmallTable: number;
  };
  refresh: {
    include: string[];
    exclude: string[];
    concurrency: number;
    defaultSchedule: string;
    schedules: Record<string, string>;
    statementTimeoutMs: number;
    lockTimeoutMs: number;
  };
  audit: {
    queries: string;
    baseline: string;
    tiers: Record<string, number>;
    runs: number;
    warmup: number;
    planCache: 'auto' | 'custom';
    costRegression: number;
    seqScanRows: number;
    minCacheHitRatio: number;
    minBlocks: number;
    statementTimeoutMs: number;
    lockTimeoutMs: number;
    load: {
      concurrency: number;
      connections: number;
      rate: number | null;
      arrivals: 'poisson' | 'uniform';
      durationMs: number;
      warmupMs: number;
      maxConnectionShare: number;
    };
  };
  seed: { dir: string; scale: number };
  /** Absent: nothing about Redis runs (src/cache/config.ts validates the section). */
  cache?: CacheConfig;
}

/** Values given by the caller (the CLI's flags), keyed by config path ("migrate.dir"). Undefined = not given. */
export type ConfigOverrides = Record<string, unknown>;

/** How to name each override in a problem ("--runs"), keyed like ConfigOverrides; default: the key. */
export type OverrideSources = Record<string, string>;

export const CONFIG_FILE_NAMES = ['dbopt.config.json', 'dbopt.config.yaml', 'dbopt.config.yml'];

/** The nearest config file from `cwd` upward, or undefined. */
export function findConfigFile(cwd: string): string | undefined {
  let dir = path.resolve(cwd);
  for (;;) {
    for (const name of CONFIG_FILE_NAMES) {
      const candidate = path.join(dir, name);
      if (existsSync(candidate)) return candidate;
    }
    const parent = path.dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

export interface LoadConfigOptions {
  cwd?: string;
  /** --config: an explicit file; it must exist. */
  configPath?: string;
  env?: NodeJS.ProcessEnv;
  overrides?: ConfigOverrides;
  overrideSources?: OverrideSources;
}

/** Find, read, validate and resolve the configuration. Throws ConfigError listing every problem. */
export async function loadConfig(opts: LoadConfigOptions = {}): Promise<Config> {
  const cwd = opts.cwd ?? process.cwd();
  const env = opts.env ?? process.env;
  let file: string | undefined;
  if (opts.configPath) {
    file = path.resolve(cwd, opts.configPath);
    if (!existsSync(file)) {
      throw new ConfigError(`config file not found: ${file}`, {
        hint: 'Check the --config path, or drop --config to search upward from the working directory.',
      });
    }
  } else if (env.DBOPT_CONFIG) {
    file = path.resolve(cwd, env.DBOPT_CONFIG);
    if (!existsSync(file))
      throw new ConfigError(`config file not found: ${file} (from DBOPT_CONFIG)`, {
        hint: 'Fix or unset DBOPT_CONFIG.',
      });
  } else {
    file = findConfigFile(cwd);
  }
  let raw: unknown = {};
  if (file) raw = await readConfigFile(file);
  const overrides = opts.overrides ?? {};
  return resolveConfig(raw, {
    file,
    rootDir: file ? path.dirname(file) : cwd,
    env,
    overrides,
    overrideSources: opts.overrideSources,
  });
}

async function readConfigFile(file: string): Promise<unknown> {
  const text = readFileSync(file, 'utf8');
  if (/\.ya?ml$/i.test(file)) {
    const YAML = await import('yaml');
    const doc = YAML.parseDocument(text, { prettyErrors: true });
    if (doc.errors.length > 0) {
      throw new ConfigError(`${file}: not valid YAML`, {
        details: doc.errors.map((e) => `line ${e.linePos?.[0]?.line ?? '?'}: ${e.message.split('\n')[0]}`),
        hint: 'Fix the YAML syntax and run again.',
      });
    }
    return doc.toJS() ?? {};
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    const msg = (err as Error).message;
    const pos = /position (\d+)/.exec(msg);
    let where = '';
    if (pos) {
      const before = text.slice(0, Number(pos[1]));
      where = ` at line ${before.split('\n').length}`;
    }
    throw new ConfigError(`${file}: not valid JSON${where}: ${msg}`, { hint: 'Fix the JSON syntax and run again.' });
  }
}

interface ResolveContext {
  file?: string;
  rootDir: string;
  env: NodeJS.ProcessEnv;
  overrides: ConfigOverrides;
  overrideSources?: OverrideSources;
}

/** Validate a parsed config object and layer environment and flag overrides on it. */
export function resolveConfig(raw: unknown, ctx: ResolveContext): Config {
  const where = ctx.file ? path.basename(ctx.file) : 'config';
  if (raw !== null && (typeof raw !== 'object' || Array.isArray(raw))) {
    throw new ConfigError(`${where}: the top level must be an object`, {
      hint: 'Start from the example in the README.',
    });
  }
  const top = (raw ?? {}) as Record<string, unknown>;
  const problems: string[] = [];
  for (const key of Object.keys(top)) {
    if (key === '$schema' || key === 'cache') continue;
    if (!(key in CONFIG_SPEC))
      problems.push(`${key}: unknown key (known: ${[...Object.keys(CONFIG_SPEC), 'cache'].join(', ')})`);
  }
  const values: Record<string, Record<string, unknown>> = {};
  for (const [sectionName, section] of Object.entries(CONFIG_SPEC)) {
    values[sectionName] = resolveSection(sectionName, section, top[sectionName], ctx, problems);
  }
  const cache = resolveCacheSection(top.cache, ctx.env, problems);
  if (problems.length > 0) {
    throw new ConfigError(
      `${ctx.file ?? 'configuration'}: ${problems.length} problem${problems.length === 1 ? '' : 's'}`,
      {
        details: problems,
        hint: 'Fix every key listed above; the JSON Schema in schema/dbopt.config.schema.json gives editors completion.',
      },
    );
  }
  const config = typedConfig(values, ctx);
  return cache ? { ...config, cache } : config;
}

/** One section's checked values (file < environment < overrides < defaults filled in); problems are collected. */
function resolveSection(
  sectionName: string,
  section: Section,
  given: unknown,
  ctx: ResolveContext,
  problems: string[],
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (given !== undefined && (given === null || typeof given !== 'object' || Array.isArray(given))) {
    problems.push(`${sectionName}: must be an object`);
    return out;
  }
  const obj = (given ?? {}) as Record<string, unknown>;
  for (const key of Object.keys(obj)) {
    if (!(key in section.properties)) {
      problems.push(`${sectionName}.${key}: unknown key (known: ${Object.keys(section.properties).join(', ')})`);
    }
  }
  for (const [key, spec] of Object.entries(section.properties)) {
    if (spec.type === 'group') {
      out[key] = resolveGroup(spec, obj[key], `${sectionName}.${key}`, sectionName, key, ctx, problems);
      continue;
    }
    const { value, source } = layeredValue(sectionName, key, spec, obj[key], ctx);
    if (value === undefined) continue;
    const checked =
      spec.type === 'map'
        ? checkMap(spec, value, source, sectionName === 'audit' && key === 'tiers', problems)
        : checkLeaf(spec, value, source, problems);
    if (checked !== undefined) out[key] = checked;
  }
  return out;
}

/** The value a key takes and where it came from, by precedence: overrides > environment > file > default. */
function layeredValue(
  sectionName: string,
  key: string,
  spec: Leaf | MapSpec,
  fromFile: unknown,
  ctx: ResolveContext,
): { value: unknown; source: string } {
  const keyPath = `${sectionName}.${key}`;
  if (ctx.overrides[keyPath] !== undefined)
    return { value: ctx.overrides[keyPath], source: ctx.overrideSources?.[keyPath] ?? keyPath };
  const envName = envVarName(sectionName, key);
  if (
    spec.type !== 'map' &&
    spec.type !== 'stringArray' &&
    spec.type !== 'nodes' &&
    ctx.env[envName] !== undefined &&
    ctx.env[envName] !== ''
  ) {
    return { value: coerceEnv(spec, ctx.env[envName]!), source: envName };
  }
  if (fromFile !== undefined) return { value: fromFile, source: keyPath };
  return {
    value: spec.type === 'map' ? { ...spec.default } : 'default' in spec ? spec.default : undefined,
    source: keyPath,
  };
}

/** A map of name: value, each value checked; `mergeDefaults` keeps default entries not given (audit.tiers). */
function checkMap(
  spec: MapSpec,
  value: unknown,
  source: string,
  mergeDefaults: boolean,
  problems: string[],
): Record<string, unknown> | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    problems.push(`${source}: must be an object of name: value`);
    return undefined;
  }
  const map: Record<string, unknown> = {};
  const merged = mergeDefaults ? { ...spec.default, ...(value as object) } : (value as Record<string, unknown>);
  for (const [name, v] of Object.entries(merged)) {
    const checked = checkLeaf(spec.values, v, `${source}.${name}`, problems);
    if (checked !== undefined) map[name] = checked;
  }
  return map;
}

/** The checked values as the typed Config the library reads (durations in ms). */
function typedConfig(values: Record<string, Record<string, unknown>>, ctx: ResolveContext): Config {
  const m = values.migrate!,
    r = values.refresh!,
    a = values.audit!,
    s = values.seed!;
  return {
    configPath: ctx.file,
    rootDir: ctx.rootDir,
    database: {
      url: values.database!.url as string | undefined,
      unresponsiveAfterMs: values.database!.unresponsiveAfter as number,
      directUrl: values.database!.directUrl as string | undefined,
      pooler: values.database!.pooler as Config['database']['pooler'],
      replicas: values.database!.replicas as NodeSpec[],
    },
    fleet: { maxReplicaLagMs: values.fleet!.maxReplicaLag as number },
    migrate: {
      dir: m.dir as string,
      lockTimeoutMs: m.lockTimeout as number,
      lockRetries: m.lockRetries as number,
      lockWaitMs: m.lockWait as number,
      buildLockTimeoutMs: m.buildLockTimeout as number,
      maintenanceWorkMem: m.maintenanceWorkMem as string,
      parallelWorkers: m.parallelWorkers as number,
      lint: (m.lint as LintSettings).enabled,
      lintRules: (m.lint as LintSettings).rules,
      lintSmallTable: (m.lint as LintSettings).smallTable,
    },
    refresh: {
      include: r.include as string[],
      exclude: r.exclude as string[],
      concurrency: r.concurrency as number,
      defaultSchedule: r.defaultSchedule as string,
      schedules: r.schedules as Record<string, string>,
      statementTimeoutMs: r.statementTimeout as number,
      lockTimeoutMs: r.lockTimeout as number,
    },
    audit: {
      queries: a.queries as string,
      baseline: a.baseline as string,
      tiers: a.tiers as Record<string, number>,
      runs: a.runs as number,
      warmup: a.warmup as number,
      planCache: a.planCache as Config['audit']['planCache'],
      costRegression: a.costRegression as number,
      seqScanRows: a.seqScanRows as number,
      minCacheHitRatio: a.minCacheHitRatio as number,
      minBlocks: a.minBlocks as number,
      statementTimeoutMs: a.statementTimeout as number,
      lockTimeoutMs: a.lockTimeout as number,
      load: {
        concurrency: (a.load as Record<string, number>).concurrency!,
        connections: (a.load as Record<string, number>).connections!,
        rate: (a.load as Record<string, number | null>).rate ?? null,
        arrivals: (a.load as Record<string, 'poisson' | 'uniform'>).arrivals!,
        durationMs: (a.load as Record<string, number>).duration!,
        warmupMs: (a.load as Record<string, number>).warmup!,
        maxConnectionShare: (a.load as Record<string, number>).maxConnectionShare!,
      },
    },
    seed: { dir: s.dir as string, scale: s.scale as number },
  };
}

/** DBOPT_MIGRATE_LOCK_TIMEOUT for migrate.lockTimeout. */
export function envVarName(section: string, key: string): string {
  return `DBOPT_${section.toUpperCase()}_${key.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`;
}

function coerceEnv(spec: Leaf, text: string): unknown {
  if (spec.type === 'optionalNumber' && text.trim() === 'null') return null;
  if (spec.type === 'integer' || spec.type === 'number' || spec.type === 'optionalNumber')
    return /^-?\d+(\.\d+)?$/.test(text.trim()) ? Number(text) : text;
  if (spec.type === 'boolean' || spec.type === 'lint')
    return text === 'true' || text === '1' ? true : text === 'false' || text === '0' ? false : text;
  return text;
}

/** A nested group (audit.load): its own unknown keys, environment (DBOPT_AUDIT_LOAD_RATE) and flags. */
function resolveGroup(
  spec: GroupSpec,
  given: unknown,
  keyPath: string,
  sectionName: string,
  groupKey: string,
  ctx: ResolveContext,
  problems: string[],
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (given !== undefined && (given === null || typeof given !== 'object' || Array.isArray(given))) {
    problems.push(`${keyPath}: must be an object`);
    return out;
  }
  const obj = (given ?? {}) as Record<string, unknown>;
  for (const key of Object.keys(obj)) {
    if (!(key in spec.properties))
      problems.push(`${keyPath}.${key}: unknown key (known: ${Object.keys(spec.properties).join(', ')})`);
  }
  for (const [key, leaf] of Object.entries(spec.properties)) {
    const path = `${keyPath}.${key}`;
    let value: unknown = obj[key];
    let source = path;
    const envName = envVarName(sectionName, `${groupKey}${key[0]!.toUpperCase()}${key.slice(1)}`);
    if (leaf.type !== 'stringArray' && ctx.env[envName] !== undefined && ctx.env[envName] !== '') {
      value = coerceEnv(leaf, ctx.env[envName]!);
      source = envName;
    }
    if (ctx.overrides[path] !== undefined) {
      value = ctx.overrides[path];
      source = ctx.overrideSources?.[path] ?? path;
    }
    if (value === undefined) value = 'default' in leaf ? leaf.default : undefined;
    if (value === undefined) continue;
    if (value === null && leaf.type === 'optionalNumber') {
      out[key] = null;
      continue;
    }
    const checked = checkLeaf(leaf, value, source, problems);
    if (checked !== undefined) out[key] = checked;
  }
  return out;
}

function checkLeaf(spec: Leaf, value: unknown, keyPath: string, problems: string[]): unknown {
  const bad = (what: string): undefined => {
    problems.push(`${keyPath}: ${what}, got ${JSON.stringify(value)}`);
    return undefined;
  };
  switch (spec.type) {
    case 'string':
      return typeof value === 'string' && value.length > 0 ? value : bad('must be a non-empty string');
    case 'duration': {
      if (typeof value !== 'string') return bad('must be a duration like "250ms", "5s" or "1h"');
      const ms = parseDuration(value);
      if (ms === undefined) return bad('must be a duration like "250ms", "5s" or "1h"');
      if (ms <= 0) return bad('must be longer than zero');
      return ms;
    }
    case 'schedule': {
      if (typeof value !== 'string') return bad('must be an interval like "1h" or a cron expression like "0 * * * *"');
      if (/^-/.test(value.trim())) return bad('must be a positive interval');
      const ms = parseDuration(value);
      if (ms !== undefined) return ms > 0 ? value : bad('must be longer than zero');
      if (isCronExpression(value)) return value;
      return bad('must be an interval like "1h" or a cron expression like "0 * * * *"');
    }
    case 'size':
      return typeof value === 'string' && /^\d+\s*(kB|MB|GB)$/.test(value)
        ? value.replace(/\s+/g, '')
        : bad('must be a size like "64MB" or "1GB"');
    case 'integer':
      if (typeof value !== 'number' || !Number.isInteger(value)) return bad('must be an integer');
      if (value < spec.minimum || (spec.maximum !== undefined && value > spec.maximum)) {
        return bad(`must be between ${spec.minimum} and ${spec.maximum ?? 'any'}`);
      }
      return value;
    case 'number':
      if (typeof value !== 'number' || !Number.isFinite(value)) return bad('must be a number');
      if (value < spec.minimum || (spec.maximum !== undefined && value > spec.maximum)) {
        return bad(`must be between ${spec.minimum} and ${spec.maximum ?? 'any'}`);
      }
      return value;
    case 'boolean':
      return typeof value === 'boolean' ? value : bad('must be true or false');
    case 'optionalNumber':
      if (typeof value !== 'number' || !Number.isFinite(value)) return bad('must be a number or null');
      return value < spec.minimum ? bad(`must be at least ${spec.minimum}`) : value;
    case 'stringArray':
      return Array.isArray(value) && value.every((v) => typeof v === 'string' && v.length > 0)
        ? value
        : bad('must be an array of non-empty strings');
    case 'enum':
      return typeof value === 'string' && spec.values.includes(value)
        ? value
        : bad(`must be one of ${spec.values.map((v) => `"${v}"`).join(', ')}`);
    case 'nodes':
      return checkNodes(value, keyPath, problems);
    case 'lint':
      return checkLint(value, keyPath, problems);
  }
}

/** database.replicas: [{ name, url }], names unique and not "primary" or "all" (--node's words). */
function checkNodes(value: unknown, keyPath: string, problems: string[]): NodeSpec[] | undefined {
  if (!Array.isArray(value)) {
    problems.push(`${keyPath}: must be an array of { "name": ..., "url": ... }, got ${JSON.stringify(value)}`);
    return undefined;
  }
  const seen = new Set<string>(['primary', 'all']);
  let ok = true;
  value.forEach((n: unknown, i) => {
    const node = n as Record<string, unknown> | null;
    const name = node && typeof node === 'object' ? node.name : undefined;
    if (
      !node ||
      typeof node !== 'object' ||
      typeof name !== 'string' ||
      !/^[\w.-]+$/.test(name) ||
      typeof node.url !== 'string' ||
      !node.url
    ) {
      problems.push(
        `${keyPath}[${i}]: must be { "name": "replica-1", "url": "postgres://..." } (name: letters, digits, _ . -)`,
      );
      ok = false;
    } else if (seen.has(name)) {
      problems.push(
        `${keyPath}[${i}].name: "${name}" is ${name === 'primary' || name === 'all' ? 'reserved by --node' : 'given twice'}`,
      );
      ok = false;
    } else {
      const extra = Object.keys(node).filter((k) => k !== 'name' && k !== 'url');
      if (extra.length) {
        problems.push(`${keyPath}[${i}]: unknown key ${extra.join(', ')} (known: name, url)`);
        ok = false;
      }
      seen.add(name);
    }
  });
  return ok ? (value as NodeSpec[]).map((n) => ({ name: n.name, url: n.url })) : undefined;
}

interface LintSettings {
  enabled: boolean;
  rules: Record<string, 'off' | 'warning' | 'error'>;
  smallTable: number;
}
export const DEFAULT_SMALL_TABLE = 10_000;

/** migrate.lint: a boolean, or { enabled, rules: { code: "off" | "warning" | "error" }, smallTable }. */
function checkLint(value: unknown, keyPath: string, problems: string[]): LintSettings | undefined {
  if (typeof value === 'boolean') return { enabled: value, rules: {}, smallTable: DEFAULT_SMALL_TABLE };
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    problems.push(
      `${keyPath}: must be true, false or an object { enabled, rules, smallTable }, got ${JSON.stringify(value)}`,
    );
    return undefined;
  }
  const obj = value as Record<string, unknown>;
  const before = problems.length;
  for (const k of Object.keys(obj)) {
    if (!['enabled', 'rules', 'smallTable'].includes(k))
      problems.push(`${keyPath}.${k}: unknown key (known: enabled, rules, smallTable)`);
  }
  if (obj.enabled !== undefined && typeof obj.enabled !== 'boolean')
    problems.push(`${keyPath}.enabled: must be true or false, got ${JSON.stringify(obj.enabled)}`);
  const small = obj.smallTable ?? DEFAULT_SMALL_TABLE;
  if (typeof small !== 'number' || !Number.isInteger(small) || small < 0)
    problems.push(`${keyPath}.smallTable: must be an integer of at least 0 (rows), got ${JSON.stringify(small)}`);
  const rules: Record<string, 'off' | 'warning' | 'error'> = {};
  if (obj.rules !== undefined) {
    if (obj.rules === null || typeof obj.rules !== 'object' || Array.isArray(obj.rules)) {
      problems.push(
        `${keyPath}.rules: must be an object of rule code: "off" | "warning" | "error", got ${JSON.stringify(obj.rules)}`,
      );
    } else {
      // Rule codes are checked against the rules by the lint itself (config sits below migrate/).
      for (const [code, level] of Object.entries(obj.rules as Record<string, unknown>)) {
        if (!/^[a-z][a-z0-9-]*$/.test(code))
          problems.push(`${keyPath}.rules.${code}: not a rule code (lower-case words joined by dashes)`);
        else if (level !== 'off' && level !== 'warning' && level !== 'error')
          problems.push(`${keyPath}.rules.${code}: must be "off", "warning" or "error", got ${JSON.stringify(level)}`);
        else rules[code] = level;
      }
    }
  }
  if (problems.length > before) return undefined;
  return { enabled: (obj.enabled as boolean | undefined) ?? true, rules, smallTable: small as number };
}

/** The JSON Schema (draft 2020-12) generated from CONFIG_SPEC; shipped as schema/dbopt.config.schema.json. */
export function configJsonSchema(): Record<string, unknown> {
  const leafSchema = (spec: Leaf): Record<string, unknown> => {
    const base: Record<string, unknown> = { description: spec.description };
    if ('default' in spec && spec.default !== undefined) base.default = spec.default;
    switch (spec.type) {
      case 'string':
        return { ...base, type: 'string', minLength: 1 };
      case 'duration':
        return { ...base, type: 'string', pattern: '^\\d+(\\.\\d+)?\\s*(ms|s|min|m|h|d)$' };
      case 'schedule':
        return { ...base, type: 'string', minLength: 1 };
      case 'size':
        return { ...base, type: 'string', pattern: '^\\d+\\s*(kB|MB|GB)$' };
      case 'integer':
        return {
          ...base,
          type: 'integer',
          minimum: spec.minimum,
          ...(spec.maximum !== undefined ? { maximum: spec.maximum } : {}),
        };
      case 'number':
        return {
          ...base,
          type: 'number',
          minimum: spec.minimum,
          ...(spec.maximum !== undefined ? { maximum: spec.maximum } : {}),
        };
      case 'boolean':
        return { ...base, type: 'boolean' };
      case 'stringArray':
        return { ...base, type: 'array', items: { type: 'string', minLength: 1 } };
      case 'enum':
        return { ...base, type: 'string', enum: spec.values };
      case 'nodes':
        return {
          ...base,
          type: 'array',
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['name', 'url'],
            properties: { name: { type: 'string', pattern: '^[\\w.-]+$' }, url: { type: 'string', minLength: 1 } },
          },
        };
      case 'lint':
        return {
          ...base,
          oneOf: [
            { type: 'boolean' },
            {
              type: 'object',
              additionalProperties: false,
              properties: {
                enabled: { type: 'boolean', default: true },
                rules: {
                  type: 'object',
                  additionalProperties: { enum: ['off', 'warning', 'error'] },
                  propertyNames: { pattern: '^[a-z][a-z0-9-]*$' },
                },
                smallTable: {
                  type: 'integer',
                  minimum: 0,
                  default: DEFAULT_SMALL_TABLE,
                  description: 'Lock findings on tables with fewer rows are notes',
                },
              },
            },
          ],
        };
      case 'optionalNumber':
        return { ...base, default: null, type: ['number', 'null'], minimum: spec.minimum };
    }
  };
  const properties: Record<string, unknown> = { $schema: { type: 'string' } };
  for (const [name, section] of Object.entries(CONFIG_SPEC)) {
    const props: Record<string, unknown> = {};
    for (const [key, spec] of Object.entries(section.properties)) {
      props[key] =
        spec.type === 'map'
          ? {
              description: spec.description,
              type: 'object',
              default: spec.default,
              additionalProperties: leafSchema(spec.values),
            }
          : spec.type === 'group'
            ? {
                description: spec.description,
                type: 'object',
                additionalProperties: false,
                properties: Object.fromEntries(Object.entries(spec.properties).map(([k, l]) => [k, leafSchema(l)])),
              }
            : leafSchema(spec);
    }
    properties[name] = {
      description: section.description,
      type: 'object',
      additionalProperties: false,
      properties: props,
    };
  }
  properties.cache = cacheJsonSchema();
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: 'https://dbopt.dev/dbopt.config.schema.json',
    title: 'dbopt configuration',
    type: 'object',
    additionalProperties: false,
    properties,
  };
}
