// dbopt never waits forever on a server that stops answering with its socket left open (a
// frozen host, a hung volume, a silent partition). Two guards on every client dbopt opens:
// - a deadline: a statement under a server-side statement_timeout (seen as dbopt sets it) gets
//   a client-side deadline a little longer; the server should have answered by then;
// - liveness: while anything waits, some connection to the server must answer within
//   `database.unresponsiveAfter`. Answers on any connection count (a build's progress poller is
//   the witness); when none come, a heartbeat connection asks `SELECT 1`. Slow but answering
//   work is never cut short.
// Either way dbopt cancels over a new connection (the server acts on it if it wakes), closes
// the socket, and fails with exit 3 naming the server and what it was doing.
import net from 'node:net';
import type { Client, ClientConfig } from 'pg';
import { ConnectionError } from '../errors.js';

export const DEFAULT_UNRESPONSIVE_AFTER_MS = 60_000;
/** How long end() may wait for the server to close a socket before dbopt closes it. */
const END_GRACE_MS = 2_000;

/**
 * The client-side deadline of a statement under a server-side timeout: a little longer, so a
 * server that cancels on time (its answer delayed by a busy machine) is never cut off first.
 */
export function deadlineFor(serverTimeoutMs: number): number {
  return serverTimeoutMs + Math.max(2_000, Math.min(30_000, Math.round(serverTimeoutMs * 0.1)));
}

/** The server stopped answering: exit 3, recognised as a lost connection (SQLSTATE class 08). */
export class UnresponsiveError extends ConnectionError {
  readonly code = '08006';
  constructor(
    message: string,
    readonly server: string,
    readonly silentMs: number,
    opts: { hint?: string; details?: string[] } = {},
  ) {
    super(message, opts);
  }
}

/** What dbopt needs of a target here (a ConnectionTarget fits). */
export interface GuardTarget {
  config: ClientConfig;
  display: string;
  unresponsiveAfterMs?: number;
}

interface ClientState {
  target: GuardTarget;
  sessionTimeoutMs?: number;
  localTimeoutMs?: number;
}

interface Pending {
  readonly doing: string;
  text: string;
  startedAt: number;
  fail(err: UnresponsiveError): void;
}

const states = new WeakMap<Client, ClientState>();
const monitors = new Map<string, Monitor>();

/** Put both guards on a connected client: its promise queries and its end(). */
export function guardClient(client: Client, target: GuardTarget): Client {
  if (states.has(client)) return client;
  const state: ClientState = { target };
  states.set(client, state);
  monitorFor(target).answered();
  const query = client.query.bind(client) as (...args: unknown[]) => unknown;
  (client as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
    const first = args[0] as { text?: string; values?: unknown[]; submit?: unknown } | string | undefined;
    // Submittables (cursor, COPY stream) pass through untouched.
    if (typeof first === 'object' && typeof first?.submit === 'function') return query(...args);
    const text = typeof first === 'string' ? first : String(first?.text ?? '');
    const values = (Array.isArray(args[1]) ? args[1] : typeof first === 'object' ? first?.values : undefined) as
      unknown[] | undefined;
    // The callback form (pg-pool's pool.query uses it) is guarded the same way.
    const last = args[args.length - 1];
    if (typeof last === 'function') {
      const callback = last as (err: unknown, res?: unknown) => void;
      watchQuery(client, state, query(...args.slice(0, -1)) as Promise<unknown>, text, values).then(
        (res) => callback(null, res),
        (err: unknown) => callback(err),
      );
      return undefined;
    }
    return watchQuery(client, state, query(...args) as Promise<unknown>, text, values);
  };
  const end = client.end.bind(client) as (cb?: (err?: Error) => void) => Promise<void> | void;
  (client as unknown as { end: (cb?: (err?: Error) => void) => unknown }).end = (cb?: (err?: Error) => void) => {
    // end() waits for the server to close the socket: a frozen server never does.
    const timer = setTimeout(() => destroySocket(client), END_GRACE_MS);
    timer.unref();
    if (cb) return end((err) => (clearTimeout(timer), cb(err)));
    return (end() as Promise<void>).finally(() => clearTimeout(timer));
  };
  return client;
}

/** A connection to this server was just made: it is answering again. */
export function serverAnswered(target: GuardTarget): void {
  monitorFor(target).answered();
}

/** Whether the last wait on this server ended with no answer (then connecting should not wait long). */
export function serverSilent(target: GuardTarget): boolean {
  return monitors.get(serverKey(target))?.tripped ?? false;
}

function watchQuery(
  client: Client,
  state: ClientState,
  sent: Promise<unknown>,
  text: string,
  values?: unknown[],
): Promise<unknown> {
  const timeoutMs = state.localTimeoutMs ?? state.sessionTimeoutMs;
  const deadlineMs = timeoutMs ? deadlineFor(timeoutMs) : undefined;
  const monitor = monitorFor(state.target);
  return new Promise((resolve, reject) => {
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    const pending: Pending = {
      // Only a message needs it: built then, not for every statement.
      get doing() {
        return summarize(text);
      },
      text,
      startedAt: Date.now(),
      fail: (err) => {
        if (settled) return;
        settled = true;
        if (timer) clearTimeout(timer);
        monitor.remove(pending);
        cancelOverNewConnection(client, state.target);
        closeWith(client, err);
        reject(err);
      },
    };
    if (deadlineMs !== undefined) {
      timer = setTimeout(() => {
        const message =
          `no answer from ${state.target.display} for ${seconds(deadlineMs)} s while ${pending.doing} ` +
          `(statement_timeout ${seconds(timeoutMs!)} s: the server should have answered or cancelled by now)`;
        pending.fail(new UnresponsiveError(message, state.target.display, deadlineMs, { hint: stillDoing(text) }));
      }, deadlineMs);
    }
    monitor.add(pending);
    sent.then(
      (res) => {
        monitor.answered();
        if (settled) return;
        settled = true;
        if (timer) clearTimeout(timer);
        monitor.remove(pending);
        if (MAY_SET_TIMEOUT.test(text)) trackTimeouts(state, text, values);
        resolve(res);
      },
      (err: unknown) => {
        // An error with a SQLSTATE came from the server: it answered.
        if ((err as { severity?: string })?.severity) monitor.answered();
        if (settled) return;
        settled = true;
        if (timer) clearTimeout(timer);
        monitor.remove(pending);
        if (/^\s*(commit|end|abort|rollback)\b(?!\s+to\b)/i.test(text)) state.localTimeoutMs = undefined;
        reject(err);
      },
    );
  });
}

/** A cheap first look: only these texts can change the statement_timeout in force. */
const MAY_SET_TIMEOUT = /statement_timeout|reset|^\s*(commit|end|abort|rollback)/i;

/** Follow the statement_timeout dbopt sets: SET [LOCAL], set_config(..., is_local), RESET, transaction end. */
export function trackTimeouts(
  state: { sessionTimeoutMs?: number; localTimeoutMs?: number },
  text: string,
  values?: unknown[],
): void {
  if (/^\s*(commit|end|abort|rollback)\b(?!\s+to\b)/i.test(text)) state.localTimeoutMs = undefined;
  if (/\breset\s+(statement_timeout|all)\b/i.test(text)) state.sessionTimeoutMs = undefined;
  const set = /\bset\s+(session\s+|local\s+)?statement_timeout\s*(?:=|to)\s*'?([^';\s]+)'?/i.exec(text);
  if (set) {
    const ms = parseSetting(set[2]!);
    if (set[1]?.trim().toLowerCase() === 'local') state.localTimeoutMs = ms;
    else state.sessionTimeoutMs = ms;
  }
  const param = (ref: string): string | undefined => {
    const m = /^\$(\d+)$/.exec(ref.trim());
    if (m) return values?.[Number(m[1]) - 1] === undefined ? undefined : String(values[Number(m[1]) - 1]);
    const q = /^'(.*)'$/.exec(ref.trim());
    return q ? q[1] : undefined;
  };
  const re = /set_config\(\s*('[^']*'|\$\d+)\s*,\s*('[^']*'|\$\d+)\s*,\s*(true|false|'[^']*'|\$\d+)\s*\)/gi;
  for (const m of text.matchAll(re)) {
    if (param(m[1]!) !== 'statement_timeout') continue;
    const value = param(m[2]!);
    if (value === undefined) continue;
    const local =
      /^(true|'t(rue)?'|'on')$/i.test(m[3]!) || ['true', 't', 'on'].includes(String(param(m[3]!)).toLowerCase());
    if (local) state.localTimeoutMs = parseSetting(value);
    else state.sessionTimeoutMs = parseSetting(value);
  }
}

/** A statement_timeout value in ms (0 = off, undefined = unknown such as DEFAULT). */
function parseSetting(value: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)\s*(us|ms|s|min|h|d)?$/i.exec(value.trim());
  if (!m) return undefined;
  const unit = (m[2] ?? 'ms').toLowerCase();
  const factor = { us: 0.001, ms: 1, s: 1_000, min: 60_000, h: 3_600_000, d: 86_400_000 }[unit] ?? 1;
  const ms = Number(m[1]) * factor;
  return ms === 0 ? 0 : Math.max(1, Math.round(ms));
}

export function summarize(text: string): string {
  const one = text
    .replace(/--[^\n]*\n/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  return `running "${one.length > 70 ? `${one.slice(0, 67)}...` : one}"`;
}

/** What the server may still be doing once it answers again: the user's next step. */
export function stillDoing(text: string): string {
  if (/create\s+(unique\s+)?index\s+concurrently/i.test(text)) {
    return 'The build may still finish or fail on the server when it answers again; the next dbopt migrate heals a leftover INVALID index and records the migration once.';
  }
  if (/refresh\s+materialized\s+view/i.test(text)) {
    return 'The refresh may still finish or roll back on the server; until it commits the view keeps its previous rows. The next refresh-views run retries it.';
  }
  if (/^\s*(insert|copy|update|delete)\b/i.test(text)) {
    return 'The statement may still commit or roll back on the server; check the server, then run the command again.';
  }
  return 'Check that the server is up and answering (a frozen host, a full disk, a network partition), then run the command again.';
}

function seconds(ms: number): string {
  return ms < 10_000 ? (ms / 1000).toFixed(1) : String(Math.round(ms / 1000));
}

function serverKey(target: GuardTarget): string {
  return `${target.config.host ?? 'localhost'}:${target.config.port ?? 5432}`;
}

function monitorFor(target: GuardTarget): Monitor {
  const key = serverKey(target);
  let m = monitors.get(key);
  if (!m) {
    m = new Monitor(target);
    monitors.set(key, m);
  }
  m.target = target;
  return m;
}

/** Liveness of one server: silence is counted only while something waits on it. */
class Monitor {
  private readonly pending = new Set<Pending>();
  private lastAnswer = Date.now();
  private ticker?: NodeJS.Timeout;
  private witness?: Client;
  private probing = false;
  tripped = false;

  constructor(public target: GuardTarget) {}

  private get limitMs(): number {
    return this.target.unresponsiveAfterMs ?? DEFAULT_UNRESPONSIVE_AFTER_MS;
  }

  /** Ask the heartbeat connection after this much silence. */
  private get probeAfterMs(): number {
    return Math.min(5_000, Math.max(200, Math.round(this.limitMs / 5)));
  }

  answered(): void {
    this.lastAnswer = Date.now();
    this.tripped = false;
  }

  add(p: Pending): void {
    // Idle time is not silence: the clock starts when something waits.
    if (this.pending.size === 0 && !this.tripped) this.lastAnswer = Math.max(this.lastAnswer, Date.now());
    this.pending.add(p);
    if (!this.ticker) {
      this.ticker = setInterval(() => this.tick(), Math.max(100, Math.round(this.probeAfterMs / 2)));
      this.ticker.unref();
    }
  }

  remove(p: Pending): void {
    this.pending.delete(p);
    // The ticker stops itself on its next idle tick: back-to-back statements do not each
    // start and stop a timer.
  }

  private stop(): void {
    if (this.ticker) clearInterval(this.ticker);
    this.ticker = undefined;
    const w = this.witness;
    this.witness = undefined;
    if (w) void w.end().catch(() => undefined);
  }

  private tick(): void {
    if (this.pending.size === 0) return this.stop();
    const silent = Date.now() - this.lastAnswer;
    // After a trip, whatever waits next fails at once unless an answer came in between.
    if (silent >= this.limitMs || (this.tripped && silent >= this.probeAfterMs * 2)) return this.trip(silent);
    if (silent >= this.probeAfterMs && !this.probing) void this.probe();
  }

  private async probe(): Promise<void> {
    this.probing = true;
    try {
      if (!this.witness) {
        const pg = (await import('pg')).default;
        const w = new pg.Client({
          ...this.target.config,
          application_name: 'dbopt (liveness)',
          connectionTimeoutMillis: this.limitMs,
        });
        w.on('error', () => undefined);
        this.witness = w;
        await w.connect();
      }
      await this.witness.query('SELECT 1');
      this.answered();
    } catch (err) {
      if ((err as { severity?: string })?.severity) this.answered();
      const w = this.witness;
      this.witness = undefined;
      if (w) destroySocket(w);
    } finally {
      this.probing = false;
    }
  }

  private trip(silentMs: number): void {
    this.tripped = true;
    const w = this.witness;
    this.witness = undefined;
    if (w) destroySocket(w);
    for (const p of [...this.pending]) {
      const waited = Math.min(silentMs, Date.now() - p.startedAt);
      const message =
        `no answer from ${this.target.display} for ${seconds(Math.max(waited, silentMs))} s while ${p.doing} ` +
        `(database.unresponsiveAfter ${seconds(this.limitMs)} s; no connection to the server answered)`;
      p.fail(new UnresponsiveError(message, this.target.display, silentMs, { hint: stillDoing(p.text) }));
    }
  }
}

/** libpq's cancel request (CancelRequest message) on a new socket; fire and forget. */
function cancelOverNewConnection(client: Client, target: GuardTarget): void {
  const c = client as unknown as { processID?: number | null; secretKey?: number | null };
  if (c.processID == null || c.secretKey == null) return;
  const host = String(target.config.host ?? 'localhost');
  const port = Number(target.config.port ?? 5432);
  const packet = Buffer.alloc(16);
  packet.writeInt32BE(16, 0);
  packet.writeInt32BE(80877102, 4);
  packet.writeInt32BE(c.processID, 8);
  packet.writeInt32BE(c.secretKey, 12);
  const socket = host.startsWith('/') ? net.connect({ path: `${host}/.s.PGSQL.${port}` }) : net.connect({ host, port });
  socket.on('error', () => undefined);
  socket.setTimeout(END_GRACE_MS, () => socket.destroy());
  socket.on('connect', () => socket.end(packet));
  socket.unref();
}

/**
 * Close a client because its server stopped answering: listeners of its 'error' event (the
 * migrate lock's watcher) hear why, not a bare "Connection terminated unexpectedly".
 */
function closeWith(client: Client, err: UnresponsiveError): void {
  const c = client as unknown as {
    _ending?: boolean;
    listenerCount(e: string): number;
    emit(e: string, x: unknown): void;
  };
  if (!c._ending && c.listenerCount('error') > 0) c.emit('error', err);
  c._ending = true;
  destroySocket(client);
}

function destroySocket(client: Client): void {
  (client as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream?.destroy();
}
