// Pure estimators of the cache tier: which namespace a key belongs to (and which bot, from
// {bot}), the share of a SCAN sample scaled to the key count with its 95 % margin, remaining
// TTL percentiles against the policy, unknown keys grouped by prefix, INFO parsing and the
// window hit ratio. No I/O here: src/cache/index.ts feeds them what it read.
import type { NamespacePolicy } from './config.js';

export interface CompiledNamespace extends NamespacePolicy {
  regex: RegExp;
  /** SCAN MATCH glob: {bot} becomes *. */
  glob: string;
  hasBot: boolean;
}

/** "bot:{bot}:session:*" -> /^bot:(.+?):session:.*$/ and "bot:*:session:*". */
export function compileNamespace(ns: NamespacePolicy): CompiledNamespace {
  let re = '^';
  const p = ns.pattern;
  for (let i = 0; i < p.length; i++) {
    if (p.startsWith('{bot}', i)) {
      re += '(.+?)';
      i += 4;
    } else if (p[i] === '\\' && i + 1 < p.length) {
      re += escapeRegex(p[++i]!);
    } else if (p[i] === '*') {
      re += '.*';
    } else if (p[i] === '?') {
      re += '.';
    } else if (p[i] === '[') {
      const end = p.indexOf(']', i + 1);
      if (end > i) {
        const body = p.slice(i + 1, end);
        re += `[${body.startsWith('^') ? `\\^${body.slice(1)}` : body}]`;
        i = end;
      } else {
        re += '\\[';
      }
    } else {
      re += escapeRegex(p[i]!);
    }
  }
  return { ...ns, regex: new RegExp(`${re}$`, 's'), glob: p.replace('{bot}', '*'), hasBot: p.includes('{bot}') };
}

const escapeRegex = (c: string): string => c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

/** The first namespace (in config order) whose pattern matches, and the bot it names. */
export function classifyKey(
  key: string,
  namespaces: CompiledNamespace[],
): { ns: CompiledNamespace; bot?: string } | undefined {
  for (const ns of namespaces) {
    const m = ns.regex.exec(key);
    if (m) return { ns, bot: ns.hasBot ? m[1] : undefined };
  }
  return undefined;
}

/**
 * The prefix an unknown key is grouped under: its first three ":"-separated segments with
 * ids (digits, hex, uuids) written as *, and ":*" when more segments follow.
 */
export function keyPrefix(key: string): string {
  const parts = key.split(':');
  const head = parts.slice(0, 3).map((s) => (/^(\d+|[0-9a-f]{8,}|[0-9a-f-]{32,36})$/i.test(s) ? '*' : s));
  return head.join(':') + (parts.length > 3 ? ':*' : '');
}

export interface ShareEstimate {
  estimate: number;
  /** Relative half-width of the 95 % interval (0 = exact). */
  margin: number;
}

/**
 * `hits` of `sampled` keys (drawn without replacement from `total`) matched: estimated count
 * and the 95 % margin of the binomial share with the finite-population correction. With no
 * hit the estimate is 0 and the margin says how many could hide (rule of three).
 */
export function shareEstimate(hits: number, sampled: number, total: number): ShareEstimate {
  if (sampled <= 0 || total <= 0) return { estimate: 0, margin: 0 };
  if (sampled >= total) return { estimate: hits, margin: 0 };
  const p = hits / sampled;
  const fpc = Math.sqrt(Math.max(0, (total - sampled) / Math.max(1, total - 1)));
  if (hits === 0) return { estimate: 0, margin: Infinity };
  return { estimate: Math.round(p * total), margin: 1.96 * Math.sqrt((1 - p) / hits) * fpc };
}

/** The q-quantile (0..1) of sorted values, nearest rank. */
export function quantile(sorted: number[], q: number): number | null {
  if (sorted.length === 0) return null;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i]!;
}

/** INFO text -> field: value (every section). */
export function parseInfo(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    if (!line || line.startsWith('#')) continue;
    const i = line.indexOf(':');
    if (i > 0) out[line.slice(0, i)] = line.slice(i + 1).trim();
  }
  return out;
}

export interface Counters {
  hits: number;
  misses: number;
  evicted: number;
  expired: number;
}

export function countersOf(info: Record<string, string>): Counters {
  const n = (k: string): number => Number(info[k] ?? 0) || 0;
  return {
    hits: n('keyspace_hits'),
    misses: n('keyspace_misses'),
    evicted: n('evicted_keys'),
    expired: n('expired_keys'),
  };
}

export interface HitRatio extends Counters {
  lookups: number;
  /** null when there was no lookup. */
  ratio: number | null;
}

export function hitRatio(c: Counters): HitRatio {
  const lookups = c.hits + c.misses;
  return { ...c, lookups, ratio: lookups > 0 ? c.hits / lookups : null };
}

/** Counter deltas between two INFO reads; a restart in between (counters fell) yields the second read. */
export function windowCounters(before: Counters, after: Counters): Counters {
  const restarted = after.hits < before.hits || after.misses < before.misses;
  if (restarted) return after;
  return {
    hits: after.hits - before.hits,
    misses: after.misses - before.misses,
    evicted: Math.max(0, after.evicted - before.evicted),
    expired: Math.max(0, after.expired - before.expired),
  };
}

/** Keys in db N from the INFO keyspace line "db0:keys=12,expires=3,avg_ttl=0". */
export function keyspaceOf(info: Record<string, string>, db: number): { keys: number; expires: number } {
  const line = info[`db${db}`];
  if (!line) return { keys: 0, expires: 0 };
  const f = Object.fromEntries(line.split(',').map((kv) => kv.split('=') as [string, string]));
  return { keys: Number(f.keys ?? 0), expires: Number(f.expires ?? 0) };
}
