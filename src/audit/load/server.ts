// What the server did during a load run, read from one ordinary (pg) connection of its own:
// wait events sampled from pg_stat_activity (active sessions of this database; no wait event
// while active counts as "CPU"), connections in use against max_connections, the database's
// cache hit ratio over the run (pg_stat_database deltas) and, where pg_stat_statements is
// installed, each statement's server execution time over the run (deltas of its counters).
// https://www.postgresql.org/docs/current/monitoring-stats.html#WAIT-EVENT-TABLE
import type { Client } from 'pg';

export interface WaitEventShare {
  /** "CPU" or "type:event", e.g. "Lock:relation", "Client:ClientRead". */
  event: string;
  samples: number;
  share: number;
}

export interface ServerFigures {
  samples: number;
  /** Most frequent first, at most 5. */
  waitEvents: WaitEventShare[];
  connections: { maxUsed: number; max: number; load: number };
  cache: { hits: number; reads: number; ratio: number | null };
  /** Server execution time per statement text, when pg_stat_statements is installed here. */
  statements?: Map<string, { calls: number; meanExecMs: number }>;
  /** Why statements is absent. */
  statementsNote?: string;
}

interface Counters {
  hits: number;
  reads: number;
}

export class ServerSampler {
  private timer?: NodeJS.Timeout;
  private busy = false;
  private samples = 0;
  private readonly events = new Map<string, number>();
  private maxUsed = 0;
  private maxLoad = 0;
  private maxConnections = 0;
  private before?: Counters;
  private statementsBefore?: Map<string, { calls: number; totalMs: number }>;
  private pgss?: string;

  constructor(
    private readonly client: Client,
    private readonly applicationName: string,
    private readonly texts: string[],
  ) {}

  async start(intervalMs = 200): Promise<void> {
    this.before = await this.counters();
    this.pgss = await this.statementsView();
    if (this.pgss) this.statementsBefore = await this.statements();
    this.timer = setInterval(() => void this.sample(), intervalMs);
    this.timer.unref();
  }

  /** A sample is skipped while the previous one is still out (the sampler never piles up). */
  private async sample(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      const { rows } = await this.client.query<{
        event: string | null;
        state: string | null;
        app: string | null;
        here: boolean;
        max: number;
      }>(
        `SELECT CASE WHEN a.wait_event IS NULL THEN NULL ELSE a.wait_event_type || ':' || a.wait_event END AS event,
                a.state,
                a.application_name AS app,
                a.datname IS NOT DISTINCT FROM current_database() AS here,
                current_setting('max_connections')::int AS max
           FROM pg_stat_activity AS a
          WHERE a.backend_type = 'client backend'
            AND a.pid <> pg_backend_pid()`,
      );
      this.samples++;
      let load = 0;
      for (const r of rows) {
        this.maxConnections = r.max;
        // Connections used are the server's; load sessions and wait events are this database's.
        if (!r.here) continue;
        if (r.app === this.applicationName) load++;
        if (r.state !== 'active') continue;
        const key = r.event ?? 'CPU';
        this.events.set(key, (this.events.get(key) ?? 0) + 1);
      }
      // The sampler's own connection counts as used too.
      this.maxUsed = Math.max(this.maxUsed, rows.length + 1);
      this.maxLoad = Math.max(this.maxLoad, load);
    } catch {
      // A failed sample (statement_timeout on a busy server) is one sample fewer, not a failure.
    } finally {
      this.busy = false;
    }
  }

  async stop(): Promise<ServerFigures> {
    if (this.timer) clearInterval(this.timer);
    while (this.busy) await new Promise((r) => setTimeout(r, 5));
    const after = await this.counters();
    const hits = after.hits - (this.before?.hits ?? after.hits);
    const reads = after.reads - (this.before?.reads ?? after.reads);
    const active = [...this.events.values()].reduce((a, b) => a + b, 0);
    const waitEvents = [...this.events.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 5)
      .map(([event, samples]) => ({ event, samples, share: active ? samples / active : 0 }));
    const figures: ServerFigures = {
      samples: this.samples,
      waitEvents,
      connections: { maxUsed: this.maxUsed, max: this.maxConnections, load: this.maxLoad },
      cache: { hits, reads, ratio: hits + reads > 0 ? hits / (hits + reads) : null },
    };
    if (this.pgss && this.statementsBefore) {
      const now = await this.statements().catch(() => undefined);
      if (now) {
        figures.statements = new Map();
        for (const [text, s] of now) {
          const b = this.statementsBefore.get(text) ?? { calls: 0, totalMs: 0 };
          const calls = s.calls - b.calls;
          if (calls > 0) figures.statements.set(text, { calls, meanExecMs: (s.totalMs - b.totalMs) / calls });
        }
      }
    } else {
      figures.statementsNote = 'server execution time: pg_stat_statements is not installed in this database';
    }
    return figures;
  }

  private async counters(): Promise<Counters> {
    const { rows } = await this.client.query<{ hits: string; reads: string }>(
      `SELECT blks_hit AS hits,
              blks_read AS reads
         FROM pg_stat_database
        WHERE datname = current_database()`,
    );
    return { hits: Number(rows[0]?.hits ?? 0), reads: Number(rows[0]?.reads ?? 0) };
  }

  /** The pg_stat_statements view, schema-qualified, when the extension is installed and loaded. */
  private async statementsView(): Promise<string | undefined> {
    const { rows } = await this.client.query<{ schema: string | null }>(
      `SELECT n.nspname AS schema
         FROM pg_extension AS e
         JOIN pg_namespace AS n ON n.oid = e.extnamespace
        WHERE e.extname = 'pg_stat_statements'`,
    );
    const schema = rows[0]?.schema;
    if (!schema) return undefined;
    const view = `${this.client.escapeIdentifier(schema)}.pg_stat_statements`;
    // Installed but not in shared_preload_libraries: reading the view raises an error.
    const ok = await this.client.query(`SELECT 1 FROM ${view} LIMIT 1`).then(
      () => true,
      () => false,
    );
    return ok ? view : undefined;
  }

  private async statements(): Promise<Map<string, { calls: number; totalMs: number }>> {
    const { rows } = await this.client.query<{ query: string; calls: string; total: number }>(
      `SELECT s.query,
              sum(s.calls) AS calls,
              sum(s.total_exec_time) AS total
         FROM ${this.pgss!} AS s
        WHERE s.dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
          AND s.query = ANY($1::text[])
        GROUP BY s.query`,
      [this.texts],
    );
    return new Map(rows.map((r) => [r.query, { calls: Number(r.calls), totalMs: Number(r.total) }]));
  }
}
