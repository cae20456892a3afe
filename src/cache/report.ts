// The "Cache tier" sections of dbopt report and dbopt audit, and dbopt seed --cache's report.
// Every figure says whether it is exact or estimated (± its 95 % margin).
import type { Cell, Report, ReportSection, Tone } from '../report.js';
import { formatDuration } from '../duration.js';
import type { CacheTierResult } from './index.js';
import type { CacheSeedResult } from './seed.js';

const n = (x: number): string => x.toLocaleString('en-US');
const pct = (r: number | null): string => (r === null ? '-' : `${(r * 100).toFixed(1)} %`);
const bytes = (b: number | null): string =>
  b === null
    ? '-'
    : b >= 1 << 30
      ? `${(b / (1 << 30)).toFixed(1)} GB`
      : b >= 1 << 20
        ? `${(b / (1 << 20)).toFixed(1)} MB`
        : `${Math.round(b / 1024)} kB`;
const dur = (ms: number | null | undefined): string => (ms === null || ms === undefined ? '-' : formatDuration(ms));

export function cacheSections(t: CacheTierResult): ReportSection[] {
  const ratioTone = (r: number | null, lookups: number): Tone =>
    r === null || lookups < t.settings.minLookups ? 'dim' : r >= t.settings.minHitRatio ? 'ok' : 'warn';
  const server: ReportSection = {
    title: `Cache tier (Redis ${t.version}, ${t.server})`,
    columns: ['figure', 'value'],
    rows: [
      ['eviction policy', t.evictionPolicy ?? { text: t.policySource, tone: 'dim' }],
      ['maxmemory', t.maxmemoryBytes ? bytes(t.maxmemoryBytes) : 'none (never evicts)'],
      ['used memory', bytes(t.usedMemoryBytes)],
      [`keys in db ${t.db}`, `${n(t.dbKeys)} (${n(t.dbKeysWithTtl)} with a TTL)`],
      [
        'hit ratio since start',
        {
          text: `${pct(t.sinceStart.ratio)} of ${n(t.sinceStart.lookups)} lookups`,
          tone: ratioTone(t.sinceStart.ratio, t.sinceStart.lookups),
        },
      ],
      [
        `hit ratio over the window (${formatDuration(t.window.ms)})`,
        {
          text: `${pct(t.window.ratio)} of ${n(t.window.lookups)} lookups`,
          tone: ratioTone(t.window.ratio, t.window.lookups),
        },
      ],
      ['evicted / expired since start', `${n(t.sinceStart.evicted)} / ${n(t.sinceStart.expired)}`],
      ['evicted / expired over the window', `${n(t.window.evicted)} / ${n(t.window.expired)}`],
    ],
    note: `Hit ratios are Redis's global keyspace counters (it keeps none per namespace); the window excludes dbopt's own ${n(t.window.ownLookups)} lookups. Target ${pct(t.settings.minHitRatio)}, judged past ${n(t.settings.minLookups)} lookups.`,
  };
  const namespaces: ReportSection = {
    title: 'Cache namespaces',
    columns: ['namespace', 'pattern', 'keys', 'memory', 'no TTL', 'TTL p50', 'TTL p95', 'policy', 'over policy'],
    rows: t.namespaces.map((ns): Cell[] => {
      const max = ns.policy.maxTtlMs ?? ns.policy.ttlMs;
      const keys =
        ns.method === 'exact'
          ? n(ns.keys)
          : ns.method === 'probed'
            ? `${n(ns.keys)} (probed)`
            : ns.margin === null
              ? `< ${n(Math.ceil((3 / Math.max(1, t.sample.scanned)) * t.dbKeys))} (none sampled)`
              : `~${n(ns.keys)} ±${(ns.margin * 100).toFixed(1)} %`;
      return [
        ns.name,
        ns.pattern,
        keys,
        ns.bytes === null ? '-' : `~${bytes(ns.bytes)}`,
        ns.noTtlShare === null
          ? '-'
          : { text: pct(ns.noTtlShare), tone: ns.noTtl > 0 && max !== undefined ? 'bad' : 'ok' },
        dur(ns.ttlP50Ms),
        dur(ns.ttlP95Ms),
        max === undefined ? 'none' : `${ns.policy.minTtlMs ? `${dur(ns.policy.minTtlMs)}..` : ''}${dur(max)}`,
        ns.detailed === 0
          ? '-'
          : { text: `${ns.overPolicy} of ${ns.detailed}`, tone: ns.overPolicy > 0 ? 'warn' : 'ok' },
      ];
    }),
    empty: 'no namespace declared',
    note: [
      t.sample.complete
        ? `Exact: SCAN read all ${n(t.sample.scanned)} keys.`
        : `Keys: exact where counted by SCAN MATCH, else a SCAN sample of ${n(t.sample.scanned)} keys scaled to ${n(t.dbKeys)} (±95 % margin).`,
      `TTL and memory from up to ${n(Math.max(0, ...t.namespaces.map((x) => x.detailed)))} keys per namespace (PTTL, MEMORY USAGE); sampling took ${formatDuration(t.sample.timeMs)} of a ${formatDuration(t.sample.budgetMs)} budget.`,
      ...t.sample.notes.filter((x) => !x.startsWith('SCAN sample')),
      ...(t.dbKeys === 0 ? [`db ${t.db} is empty: dbopt seed --cache fills the namespaces for the seeded bots.`] : []),
    ].join('\n'),
  };
  const botRows: Cell[][] = [];
  for (const ns of t.namespaces) {
    for (const b of ns.bots.slice(0, 3)) {
      botRows.push([
        ns.name,
        b.bot,
        `~${n(b.keys)}`,
        b.bytes === null ? '-' : `~${bytes(b.bytes)}`,
        { text: pct(b.share), tone: b.share > t.settings.maxBotShare ? 'warn' : 'ok' },
      ]);
    }
  }
  const bots: ReportSection = {
    title: 'Cache bots (largest first, top 3 per namespace)',
    columns: ['namespace', 'bot', 'keys', 'memory', 'share'],
    rows: botRows,
    empty: 'no {bot} namespace has keys',
  };
  const unknown: ReportSection = {
    title: 'Keys outside every namespace',
    columns: ['prefix', 'keys', 'example'],
    rows: t.unknown.prefixes
      .slice(0, 10)
      .map((p) => [p.prefix, t.sample.complete ? n(p.keys) : `~${n(p.keys)}`, p.example]),
    empty: 'none',
  };
  return [server, namespaces, bots, unknown];
}

/** A one-line summary for the report's header area. */
export function cacheSummary(t: CacheTierResult): string {
  const noTtl = t.namespaces.filter((x) => x.noTtl > 0 && x.policy.ttlMs !== undefined).map((x) => x.name);
  return `cache: ${n(t.dbKeys)} keys, hit ratio ${pct(t.sinceStart.ratio)} since start${noTtl.length ? `, keys without TTL in ${noTtl.join(', ')}` : ''}`;
}

/** dbopt seed --cache's report. */
export function cacheSeedReport(r: CacheSeedResult): Report {
  return {
    command: 'seed',
    title: 'dbopt seed --cache',
    server: r.server,
    ok: true,
    summary: `Seeded the cache tier: ${n(r.keys)} keys for ${r.bots} bots (scale ${r.scale}) in ${formatDuration(r.durationMs)}`,
    sections: [
      {
        title: 'Namespaces',
        columns: ['namespace', 'keys', 'ttl'],
        rows: r.namespaces.map((ns) => [ns.name, n(ns.keys), ns.ttl]),
      },
    ],
    checks: [],
    data: r,
  };
}
