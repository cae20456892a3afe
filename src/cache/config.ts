// The `cache` config section (PRODUCT.md "The cache tier"): where the Redis is, the namespaces
// with their key pattern and TTL policy, the hit-ratio target and the sampling budget. Its
// namespaces are a map of objects, which the generic leaf spec in src/config.ts cannot say,
// so this module validates the section (every problem with its key path) and gives the JSON
// Schema fragment. Also: Redis URLs shown without their password.
import { parseDuration } from '../duration.js';
import { redactRedisUrl } from '../redact.js';

export interface NamespacePolicy {
  name: string;
  /** As written: "bot:{bot}:session:*" (glob, with an optional {bot} placeholder). */
  pattern: string;
  /** The TTL the design gives these keys; keys without one are cache-ttl-missing. */
  ttlMs?: number;
  /** Remaining TTLs below / above these are outside policy (maxTtl defaults to ttl). */
  minTtlMs?: number;
  maxTtlMs?: number;
}

export interface CacheConfig {
  url: string;
  /** Where the URL came from, for messages: cache.url or DBOPT_CACHE_URL. */
  urlSource?: string;
  namespaces: NamespacePolicy[];
  minHitRatio: number;
  /** Lookups (hits + misses) over the window before the hit ratio is judged. */
  minLookups: number;
  /** SCAN stops after this many keys (the sample the shares come from). */
  sampleKeys: number;
  /** Keys per namespace whose PTTL and MEMORY USAGE are read. */
  detailKeys: number;
  /** Wall-clock budget of all sampling. */
  sampleTimeMs: number;
  /** Minimum length of the window between the two INFO reads. */
  windowMs: number;
  /** One bot holding more than this share of a namespace is cache-bot-imbalance. */
  maxBotShare: number;
  /** Connect and per-command timeout. */
  timeoutMs: number;
}

export const CACHE_DEFAULTS = {
  minHitRatio: 0.9,
  minLookups: 1000,
  sampleKeys: 50_000,
  detailKeys: 300,
  sampleTime: '2s',
  window: '0ms',
  maxBotShare: 0.5,
  timeout: '5s',
} as const;

const NAMESPACE_KEYS = ['pattern', 'ttl', 'minTtl', 'maxTtl'];
const CACHE_KEYS = [
  'url',
  'namespaces',
  'minHitRatio',
  'minLookups',
  'sampleKeys',
  'detailKeys',
  'sampleTime',
  'window',
  'maxBotShare',
  'timeout',
];

/**
 * Validate the raw `cache` section (undefined = absent) and apply DBOPT_CACHE_URL; problems
 * are pushed with their key path. Returns undefined when the section is absent or broken.
 */
export function resolveCacheSection(raw: unknown, env: NodeJS.ProcessEnv, problems: string[]): CacheConfig | undefined {
  const envUrl = env.DBOPT_CACHE_URL;
  if (raw === undefined) {
    if (envUrl)
      problems.push('DBOPT_CACHE_URL: set, but the config has no cache section (declare cache.namespaces to use it)');
    return undefined;
  }
  const before = problems.length;
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    problems.push('cache: must be an object');
    return undefined;
  }
  const obj = raw as Record<string, unknown>;
  for (const key of Object.keys(obj)) {
    if (!CACHE_KEYS.includes(key)) problems.push(`cache.${key}: unknown key (known: ${CACHE_KEYS.join(', ')})`);
  }
  const url = envUrl || obj.url;
  const urlSource = envUrl ? 'DBOPT_CACHE_URL' : 'cache.url';
  if (typeof url !== 'string' || url.length === 0) {
    problems.push(`${urlSource}: must be a redis:// or rediss:// URL, got ${JSON.stringify(url ?? null)}`);
  } else if (!/^rediss?:\/\//i.test(url)) {
    problems.push(
      `${urlSource}: must start with redis:// or rediss://, got ${JSON.stringify(url.replace(/(\/\/[^:/@\s]*:)[^\s]*@/, '$1***@'))}`,
    );
  } else {
    try {
      new URL(url);
    } catch {
      problems.push(
        `${urlSource}: not a valid URL (${redactRedisUrl(url)}); percent-encode special characters of the password`,
      );
    }
  }
  const num = (key: string, dflt: number, min: number, max?: number, integer = false): number => {
    const v = obj[key];
    if (v === undefined) return dflt;
    if (
      typeof v !== 'number' ||
      !Number.isFinite(v) ||
      (integer && !Number.isInteger(v)) ||
      v < min ||
      (max !== undefined && v > max)
    ) {
      problems.push(
        `cache.${key}: must be ${integer ? 'an integer' : 'a number'} between ${min} and ${max ?? 'any'}, got ${JSON.stringify(v)}`,
      );
      return dflt;
    }
    return v;
  };
  const dur = (keyPath: string, v: unknown, allowZero = false): number | undefined => {
    if (v === undefined) return undefined;
    const ms = typeof v === 'string' ? parseDuration(v) : undefined;
    if (ms === undefined || (!allowZero && ms <= 0)) {
      problems.push(
        `${keyPath}: must be a duration like "5m", "1h" or "250ms"${allowZero ? '' : ' longer than zero'}, got ${JSON.stringify(v)}`,
      );
      return undefined;
    }
    return ms;
  };
  const namespaces: NamespacePolicy[] = [];
  const ns = obj.namespaces;
  if (ns === undefined) {
    problems.push('cache.namespaces: required: name -> { "pattern": "bot:{bot}:session:*", "ttl": "5m" }');
  } else if (ns === null || typeof ns !== 'object' || Array.isArray(ns)) {
    problems.push('cache.namespaces: must be an object of name -> { pattern, ttl }');
  } else {
    for (const [name, spec] of Object.entries(ns as Record<string, unknown>)) {
      const at = `cache.namespaces.${name}`;
      if (spec === null || typeof spec !== 'object' || Array.isArray(spec)) {
        problems.push(`${at}: must be an object like { "pattern": "bot:{bot}:session:*", "ttl": "5m" }`);
        continue;
      }
      const s = spec as Record<string, unknown>;
      for (const key of Object.keys(s)) {
        if (!NAMESPACE_KEYS.includes(key))
          problems.push(`${at}.${key}: unknown key (known: ${NAMESPACE_KEYS.join(', ')})`);
      }
      if (typeof s.pattern !== 'string' || s.pattern.length === 0) {
        problems.push(
          `${at}.pattern: must be a key pattern like "bot:{bot}:session:*", got ${JSON.stringify(s.pattern ?? null)}`,
        );
        continue;
      }
      if ((s.pattern.match(/\{bot\}/g) ?? []).length > 1)
        problems.push(`${at}.pattern: {bot} may appear once, got ${JSON.stringify(s.pattern)}`);
      const other = /\{(?!bot\})[^}]*\}/.exec(s.pattern);
      if (other) problems.push(`${at}.pattern: unknown placeholder ${other[0]} (only {bot} is known)`);
      const policy: NamespacePolicy = { name, pattern: s.pattern };
      policy.ttlMs = dur(`${at}.ttl`, s.ttl);
      policy.minTtlMs = dur(`${at}.minTtl`, s.minTtl);
      policy.maxTtlMs = dur(`${at}.maxTtl`, s.maxTtl);
      if (policy.minTtlMs !== undefined && policy.maxTtlMs !== undefined && policy.minTtlMs > policy.maxTtlMs) {
        problems.push(`${at}: minTtl ${String(s.minTtl)} is longer than maxTtl ${String(s.maxTtl)}`);
      }
      namespaces.push(policy);
    }
    if (namespaces.length === 0 && problems.length === before)
      problems.push('cache.namespaces: declare at least one namespace');
  }
  const config: CacheConfig = {
    url: typeof url === 'string' ? url : '',
    urlSource,
    namespaces,
    minHitRatio: num('minHitRatio', CACHE_DEFAULTS.minHitRatio, 0, 1),
    minLookups: num('minLookups', CACHE_DEFAULTS.minLookups, 0, undefined, true),
    sampleKeys: num('sampleKeys', CACHE_DEFAULTS.sampleKeys, 100, 10_000_000, true),
    detailKeys: num('detailKeys', CACHE_DEFAULTS.detailKeys, 10, 100_000, true),
    sampleTimeMs: dur('cache.sampleTime', obj.sampleTime) ?? parseDuration(CACHE_DEFAULTS.sampleTime)!,
    windowMs: dur('cache.window', obj.window, true) ?? 0,
    maxBotShare: num('maxBotShare', CACHE_DEFAULTS.maxBotShare, 0, 1),
    timeoutMs: dur('cache.timeout', obj.timeout) ?? parseDuration(CACHE_DEFAULTS.timeout)!,
  };
  return problems.length === before ? config : undefined;
}

/** The JSON Schema of the `cache` section, for schema/dbopt.config.schema.json. */
export function cacheJsonSchema(): Record<string, unknown> {
  const duration = (description: string, dflt?: string): Record<string, unknown> => ({
    description,
    type: 'string',
    pattern: '^\\d+(\\.\\d+)?\\s*(ms|s|min|m|h|d)$',
    ...(dflt ? { default: dflt } : {}),
  });
  return {
    description:
      'The Redis cache tier read by dbopt report and dbopt audit (read-only) and filled by dbopt seed --cache. Absent: nothing about Redis runs.',
    type: 'object',
    additionalProperties: false,
    required: ['namespaces'],
    properties: {
      url: {
        description:
          'redis://[user:password@]host:6379/db or rediss:// for TLS (DBOPT_CACHE_URL overrides; the password is never printed)',
        type: 'string',
        pattern: '^rediss?://',
      },
      namespaces: {
        description: 'Kinds of cached data: name -> key pattern ({bot} marks the bot id) and TTL policy',
        type: 'object',
        additionalProperties: {
          type: 'object',
          additionalProperties: false,
          required: ['pattern'],
          properties: {
            pattern: { description: 'Key glob, e.g. "bot:{bot}:session:*"', type: 'string', minLength: 1 },
            ttl: duration('The TTL these keys are written with; keys without a TTL are an error'),
            minTtl: duration('Remaining TTLs shorter than this are outside policy'),
            maxTtl: duration('Remaining TTLs longer than this are outside policy (default: ttl)'),
          },
        },
      },
      minHitRatio: {
        description: 'Keyspace hit ratio over the window below this is a warning',
        type: 'number',
        minimum: 0,
        maximum: 1,
        default: CACHE_DEFAULTS.minHitRatio,
      },
      minLookups: {
        description: 'Lookups over the window needed before the hit ratio is judged',
        type: 'integer',
        minimum: 0,
        default: CACHE_DEFAULTS.minLookups,
      },
      sampleKeys: {
        description: 'Keys read by SCAN to estimate namespace shares',
        type: 'integer',
        minimum: 100,
        default: CACHE_DEFAULTS.sampleKeys,
      },
      detailKeys: {
        description: 'Keys per namespace whose TTL and memory are read',
        type: 'integer',
        minimum: 10,
        default: CACHE_DEFAULTS.detailKeys,
      },
      sampleTime: duration('Wall-clock budget of the sampling', CACHE_DEFAULTS.sampleTime),
      window: duration('Minimum time between the two INFO reads of the window hit ratio', CACHE_DEFAULTS.window),
      maxBotShare: {
        description: 'One bot holding more than this share of a namespace is a warning',
        type: 'number',
        minimum: 0,
        maximum: 1,
        default: CACHE_DEFAULTS.maxBotShare,
      },
      timeout: duration('Connect and command timeout', CACHE_DEFAULTS.timeout),
    },
  };
}

export interface RedisTarget {
  url: string;
  /** redis://user@host:port/db, never the password. */
  display: string;
  tls: boolean;
  db: number;
  secrets: string[];
  source: string;
}

/** Parse a redis:// or rediss:// URL into what the client needs and what may be shown. */
export function redisTarget(url: string, source = 'cache.url'): RedisTarget {
  const u = new URL(url);
  const tls = u.protocol === 'rediss:';
  const db = u.pathname && u.pathname !== '/' ? Number(u.pathname.slice(1)) : 0;
  const password = u.password ? safeDecode(u.password) : '';
  const user = u.username ? safeDecode(u.username) : '';
  const secrets = password ? [...new Set([password, u.password, encodeURIComponent(password)])] : [];
  const display = `${tls ? 'rediss' : 'redis'}://${user ? `${user}@` : ''}${u.hostname}:${u.port || 6379}/${Number.isFinite(db) ? db : 0}`;
  return { url, display, tls, db: Number.isFinite(db) ? db : 0, secrets, source };
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
