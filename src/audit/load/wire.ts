// A minimal PostgreSQL frontend for the load phase and the audit's timed runs: what a request
// costs on the client here is what bounds the load a Node process can drive on a small machine
// shared with the server, so this client does only what a measurement needs.
// - Startup: SSLRequest when the TLS plan asks for it, StartupMessage with the session's
//   parameters (read-only, time-bounded from the first byte), trust, cleartext, MD5 or
//   SCRAM-SHA-256 authentication; BackendKeyData kept for CancelRequest.
// - Requests: named prepared statements (Parse once per statement per connection), then per
//   request Bind + Execute + Sync, written back to back with the other requests of the same
//   tick in one socket write (pipelining; `writeNow`: at once, for a caller with one request
//   out at a time); results are read in order and each request's
//   callback gets its error (SQLSTATE as `code`) and row count. Rows are counted, not decoded;
//   `queryValue` alone keeps one text value (the audit timer's catalog read and EXPLAIN).
// - A watchdog: one interval timer for every connection; a connection with requests out that
//   receives no byte for its limit (statement timeout + a margin, src/db/deadline.ts) is
//   cancelled on the server, closed, and its requests fail with 08006. Connecting has a timeout.
// https://www.postgresql.org/docs/current/protocol-message-formats.html
// https://www.postgresql.org/docs/current/protocol-flow.html#PROTOCOL-FLOW-PIPELINING
import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';
import net from 'node:net';
import tls, { type ConnectionOptions } from 'node:tls';
import { stillDoing, summarize as describe, UnresponsiveError } from '../../db/deadline.js';

export type WireParam = string | number | boolean | null;

/** A server error (ErrorResponse) or a connection failure, in node-postgres's shape. */
export interface WireError extends Error {
  code: string;
  severity?: string;
  detail?: string;
  hint?: string;
  position?: string;
  where?: string;
  schema?: string;
  table?: string;
  column?: string;
  constraint?: string;
}

export type Done = (err: WireError | undefined, rows: number) => void;

export interface WireOptions {
  host: string;
  port: number;
  user: string;
  database: string;
  password?: string;
  /** false: plain; options: TLS required (SSLRequest, then the handshake). */
  ssl: false | ConnectionOptions;
  /** prefer: TLS when the server offers it, else plain on the same socket. */
  sslOptional?: boolean;
  /** Startup parameters: application_name and the session settings. */
  params: Record<string, string>;
  connectTimeoutMs: number;
  /** Silence allowed while requests are out (default: none, no watchdog). */
  silenceLimitMs?: number;
  /** For messages: user@host:port/db. */
  display: string;
  /** The statement_timeout behind silenceLimitMs, named in the watchdog's message. */
  statementTimeoutMs?: number;
  /**
   * Unnamed statements only (a transaction-mode pooler before PgBouncer 1.21 cannot keep
   * named ones across transactions).
   */
  unnamed?: boolean;
  keepAliveMs?: number;
}

interface Op {
  done: Done;
  rows: number;
  error?: WireError;
  /** Statements this op parses, in order: those whose Parse did not complete are forgotten on failure. */
  parses?: Statement[];
  /** Statements parsed by an earlier op that this one binds: a 26000 is their Parse's failure. */
  binds?: string[];
  /** ParseComplete messages received for this op (its first `parsed` statements are on the server). */
  parsed?: number;
  text: string;
  /** Roll back a transaction the op left open or failed (its own ROLLBACK did not run). */
  closeTx: boolean;
  /** Keep the first row's first column (queryValue); null for SQL NULL. */
  wantValue?: boolean;
  value?: string | null;
}

interface Statement {
  name: string;
}

const PROTOCOL_3 = 196608;
const SSL_REQUEST = 80877103;
const CANCEL_REQUEST = 80877102;
const END_GRACE_MS = 1000;

const live = new Set<WireConnection>();
let watchdog: NodeJS.Timeout | undefined;

function watch(conn: WireConnection): void {
  live.add(conn);
  if (watchdog) return;
  watchdog = setInterval(() => {
    const now = Date.now();
    for (const c of live) c.check(now);
    if (live.size === 0) {
      clearInterval(watchdog);
      watchdog = undefined;
    }
  }, 250);
  watchdog.unref();
}

/** Writes messages into one growing buffer; taken whole by flush. */
class Writer {
  buf = Buffer.allocUnsafe(16384);
  at = 0;

  ensure(n: number): void {
    if (this.at + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.at + n));
    this.buf.copy(next, 0, 0, this.at);
    this.buf = next;
  }
  byte(b: number): void {
    this.ensure(1);
    this.buf[this.at++] = b;
  }
  int16(n: number): void {
    this.ensure(2);
    this.buf.writeInt16BE(n, this.at);
    this.at += 2;
  }
  int32(n: number): void {
    this.ensure(4);
    this.buf.writeInt32BE(n, this.at);
    this.at += 4;
  }
  cstr(s: string): void {
    const n = Buffer.byteLength(s);
    this.ensure(n + 1);
    this.buf.write(s, this.at, 'utf8');
    this.at += n;
    this.buf[this.at++] = 0;
  }
  bytes(b: Buffer): void {
    this.ensure(b.length);
    b.copy(this.buf, this.at);
    this.at += b.length;
  }
  /** Start a message of type `t`; returns where its length goes. */
  begin(t: number): number {
    this.ensure(5);
    this.buf[this.at] = t;
    const at = this.at + 1;
    this.at += 5;
    return at;
  }
  end(lengthAt: number): void {
    this.buf.writeInt32BE(this.at - lengthAt, lengthAt);
  }
  /**
   * What was written, as a buffer of its own; this one is kept for the next messages. A copy
   * of the used bytes (small ones come from Node's shared pool) instead of a fresh 16 KB buffer
   * per flush: at thousands of flushes a second those fresh buffers, memory outside the heap,
   * made V8 run a full mark-compact every half second, a pause of 4-6 ms in every run's tail.
   */
  take(): Buffer {
    const out = Buffer.allocUnsafe(this.at);
    this.buf.copy(out, 0, 0, this.at);
    this.at = 0;
    if (this.buf.length > 1 << 20) this.buf = Buffer.allocUnsafe(16384);
    return out;
  }
}

export class WireConnection {
  private socket!: net.Socket;
  private readonly out = new Writer();
  private flushing = false;
  private readonly ops: Op[] = [];
  private opsHead = 0;
  private readonly statements = new Map<string, Statement>();
  /** Statements whose Parse failed, by name: what a later Bind of theirs (26000) really met. */
  private readonly failedParses = new Map<string, WireError>();
  private statementCounter = 0;
  private chunk: Buffer | undefined;
  private pendingChunks: Buffer[] = [];
  private pendingLength = 0;
  private needed = 0;
  private lastByte = Date.now();
  private closed?: WireError;
  private onClose: (() => void)[] = [];
  private readonly flushNow = (): void => this.flush();
  /** The backend's pid and secret key (BackendKeyData), for CancelRequest. */
  pid = 0;
  private secret = 0;
  /** What the server reported (ParameterStatus). */
  readonly parameters: Record<string, string> = {};
  silenceLimitMs: number | undefined;
  statementTimeoutMs: number | undefined;
  /**
   * Write each request as it is made instead of at the end of the tick: for a caller with one
   * request out at a time (the audit's timer), which has nothing to batch (no tick callback).
   */
  writeNow = false;
  /** Called when the ROLLBACK after a failed group is done: the connection is free again. */
  onRolledBack?: () => void;

  private constructor(readonly opts: WireOptions) {
    this.silenceLimitMs = opts.silenceLimitMs;
    this.statementTimeoutMs = opts.statementTimeoutMs;
  }

  /** Open, authenticate, and wait for the first ReadyForQuery. */
  static async connect(opts: WireOptions): Promise<WireConnection> {
    const c = new WireConnection(opts);
    await c.open();
    return c;
  }

  /** Requests sent and not yet answered. */
  get inFlight(): number {
    return this.ops.length - this.opsHead;
  }

  get isClosed(): boolean {
    return this.closed !== undefined;
  }

  /** One statement with its parameters (text format), as its own Sync group. */
  query(text: string, values: readonly WireParam[], done: Done): void {
    if (this.closed) return done(this.closed, 0);
    const op: Op = { done, rows: 0, text, closeTx: false };
    this.step(op, text, values);
    this.sync();
    this.push(op);
  }

  /**
   * One statement whose first row's first column is wanted, as text (undefined: no row): a
   * catalog read or an EXPLAIN on this session, never a measured request.
   */
  queryValue(
    text: string,
    values: readonly WireParam[],
    done: (err: WireError | undefined, value?: string | null) => void,
  ): void {
    if (this.closed) return done(this.closed);
    const op: Op = { done: (err) => done(err, op.value), rows: 0, text, closeTx: false, wantValue: true };
    this.step(op, text, values);
    this.sync();
    this.push(op);
  }

  /** The server-side name of the prepared statement for `text` on this connection, once parsed. */
  statementName(text: string): string | undefined {
    return this.statements.get(text)?.name;
  }

  /**
   * Several statements in one Sync group (a transaction the group opens and ends itself);
   * when one fails the rest are skipped and the open transaction is rolled back.
   */
  group(steps: readonly (readonly [string, readonly WireParam[]])[], done: Done): void {
    if (this.closed) return done(this.closed, 0);
    const op: Op = { done, rows: 0, text: steps.map((s) => s[0]).join('; '), closeTx: true };
    for (const [text, values] of steps) this.step(op, text, values);
    this.sync();
    this.push(op);
  }

  private push(op: Op): void {
    if (this.ops.length === this.opsHead) this.lastByte = Date.now();
    this.ops.push(op);
    if (this.writeNow) {
      this.flush();
    } else if (!this.flushing) {
      this.flushing = true;
      process.nextTick(this.flushNow);
    }
  }

  private step(op: Op, text: string, values: readonly WireParam[]): void {
    const w = this.out;
    let name = '';
    if (!this.opts.unnamed) {
      let st = this.statements.get(text);
      if (!st) {
        st = { name: `d${++this.statementCounter}` };
        this.statements.set(text, st);
        (op.parses ??= []).push(st);
        this.parse(st.name, text);
      } else {
        (op.binds ??= []).push(st.name);
      }
      name = st.name;
    } else {
      this.parse('', text);
    }
    // Bind: unnamed portal, every parameter and result column in text format.
    const at = w.begin(0x42);
    w.byte(0);
    w.cstr(name);
    w.int16(0);
    w.int16(values.length);
    for (const v of values) {
      if (v === null || v === undefined) {
        w.int32(-1);
        continue;
      }
      const s = typeof v === 'string' ? v : String(v);
      const n = Buffer.byteLength(s);
      w.int32(n);
      w.ensure(n);
      w.buf.write(s, w.at, 'utf8');
      w.at += n;
    }
    w.int16(0);
    w.end(at);
    // Execute: unnamed portal, all rows.
    const ex = w.begin(0x45);
    w.byte(0);
    w.int32(0);
    w.end(ex);
  }

  private parse(name: string, text: string): void {
    const w = this.out;
    const at = w.begin(0x50);
    w.cstr(name);
    w.cstr(text);
    w.int16(0);
    w.end(at);
  }

  private sync(): void {
    const w = this.out;
    w.ensure(5);
    w.buf[w.at] = 0x53;
    w.buf.writeInt32BE(4, w.at + 1);
    w.at += 5;
  }

  /** Write what is buffered now (otherwise written at the end of the current tick). */
  flush(): void {
    this.flushing = false;
    if (this.out.at === 0 || this.closed) return;
    this.socket.write(this.out.take());
  }

  /** Ask the server to cancel what this connection runs now (a new socket; fire and forget). */
  cancel(): void {
    if (!this.pid) return;
    const packet = Buffer.alloc(16);
    packet.writeInt32BE(16, 0);
    packet.writeInt32BE(CANCEL_REQUEST, 4);
    packet.writeInt32BE(this.pid, 8);
    packet.writeInt32BE(this.secret, 12);
    const s = this.rawSocket();
    s.on('error', () => undefined);
    s.setTimeout(END_GRACE_MS, () => s.destroy());
    s.on('connect', () => s.end(packet));
    s.unref();
  }

  /** Close politely (Terminate); a server that does not close its side within a second is cut off. */
  end(): Promise<void> {
    if (this.closed) return Promise.resolve();
    const closedErr = wireError('08003', 'the connection was closed');
    return new Promise<void>((resolve) => {
      this.onClose.push(resolve);
      this.flush();
      const timer = setTimeout(() => this.destroy(closedErr), END_GRACE_MS);
      timer.unref();
      this.onClose.push(() => clearTimeout(timer));
      if (this.inFlight === 0) {
        this.socket.end(Buffer.from([0x58, 0, 0, 0, 4]));
      } else {
        // Requests still out: they end with the connection.
        this.destroy(closedErr);
      }
    });
  }

  /** Close at once; requests out fail with `err`. */
  destroy(err: WireError): void {
    if (!this.closed) this.closed = err;
    live.delete(this);
    this.socket?.destroy();
    this.failAll(this.closed);
  }

  private failAll(err: WireError): void {
    while (this.opsHead < this.ops.length) {
      const op = this.ops[this.opsHead++]!;
      op.done(err, op.rows);
    }
    this.ops.length = 0;
    this.opsHead = 0;
  }

  /** Watchdog tick: fail the connection when it has requests out and heard nothing for too long. */
  check(now: number): void {
    if (this.inFlight === 0 || this.silenceLimitMs === undefined) return;
    const silent = now - this.lastByte;
    if (silent < this.silenceLimitMs) return;
    const op = this.ops[this.opsHead]!;
    const timeout = this.statementTimeoutMs;
    const message =
      `no answer from ${this.opts.display} for ${seconds(silent)} s while ${describe(op.text)} ` +
      (timeout !== undefined
        ? `(statement_timeout ${seconds(timeout)} s: the server should have answered or cancelled by now)`
        : `(no byte from the server for ${seconds(this.silenceLimitMs)} s)`);
    const err = new UnresponsiveError(message, this.opts.display, silent, {
      hint: stillDoing(op.text),
    }) as unknown as WireError;
    this.cancel();
    this.destroy(err);
  }

  private rawSocket(read?: (data: Buffer) => void): net.Socket {
    const { host, port } = this.opts;
    // Plain TCP reads into one buffer of this connection's, not through the stream machinery
    // ('data' events): what is kept past the callback is copied (see receive).
    const onread = read && {
      buffer: Buffer.allocUnsafe(65536),
      callback: (n: number, buf: Buffer): boolean => {
        read(buf.subarray(0, n));
        return true;
      },
    };
    const where = host.startsWith('/') ? { path: `${host}/.s.PGSQL.${port}` } : { host, port };
    return net.connect(onread ? { ...where, onread } : where);
  }

  // --- connecting --------------------------------------------------------------------------

  private open(): Promise<void> {
    const o = this.opts;
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      const fail = (err: WireError): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.closed = err;
        this.socket?.destroy();
        reject(err);
      };
      this.failOpen = fail;
      const timer = setTimeout(
        () =>
          fail(
            wireError(
              '08001',
              `no answer from ${o.display} for ${seconds(o.connectTimeoutMs)} s while connecting (timeout expired)`,
            ),
          ),
        o.connectTimeoutMs,
      );
      timer.unref();
      this.ownReads = !o.ssl;
      const raw = this.rawSocket(this.ownReads ? (d) => this.receive(d) : undefined);
      this.socket = raw;
      raw.setNoDelay(true);
      if (o.keepAliveMs) raw.setKeepAlive(true, o.keepAliveMs);
      raw.on('error', (e) => fail(asWireError(e)));
      raw.once('connect', () => {
        if (!o.ssl) return this.startup(raw, resolve, fail, () => (settled = true), timer);
        raw.write(int32s(8, SSL_REQUEST));
        const closedEarly = (): void =>
          fail(wireError('08006', `${o.display} closed the connection before answering the SSLRequest`));
        raw.once('close', closedEarly);
        raw.once('data', (answer: Buffer) => {
          raw.off('close', closedEarly);
          // Bytes after the one-byte answer were not sent through TLS: a man in the middle's.
          if (answer.length > 1)
            return fail(wireError('08P01', 'the server sent more than one byte in answer to the SSLRequest'));
          if (answer[0] === 0x53) {
            const secure = tls.connect({ ...(o.ssl as ConnectionOptions), socket: raw });
            this.socket = secure;
            secure.on('error', (e) => fail(asWireError(e)));
            secure.once('secureConnect', () => this.startup(secure, resolve, fail, () => (settled = true), timer));
          } else if (answer[0] === 0x4e && o.sslOptional) {
            this.startup(raw, resolve, fail, () => (settled = true), timer);
          } else if (answer[0] === 0x4e) {
            fail(wireError('08004', 'the server does not support SSL connections'));
          } else {
            fail(wireError('08P01', `unexpected answer to SSLRequest: ${answer[0]}`));
          }
        });
      });
    });
  }

  private startup(
    socket: net.Socket,
    resolve: () => void,
    fail: (err: WireError) => void,
    settle: () => void,
    timer: NodeJS.Timeout,
  ): void {
    const o = this.opts;
    const w = new Writer();
    w.int32(0);
    w.int32(PROTOCOL_3);
    const params: Record<string, string> = { user: o.user, database: o.database, ...o.params };
    for (const [k, v] of Object.entries(params)) {
      w.cstr(k);
      w.cstr(v);
    }
    w.byte(0);
    w.buf.writeInt32BE(w.at, 0);
    socket.write(w.take());
    let scram: Scram | undefined;
    let scramVerified = false;
    const step = (type: number, body: Buffer): void => {
      switch (type) {
        case 0x52: {
          const code = body.readInt32BE(0);
          if (code === 0) {
            // RFC 5802 §3: the exchange is over only once the server proved it knows the password.
            if (scram && !scramVerified)
              fail(wireError('28000', 'the server ended SCRAM-SHA-256 without its signature: not the server expected'));
            return;
          }
          if (code === 3 || code === 5) {
            if (o.password === undefined) return fail(noPassword(o));
            const pw =
              code === 3
                ? o.password
                : 'md5' +
                  md5(Buffer.concat([Buffer.from(md5(Buffer.from(o.password + o.user)), 'utf8'), body.subarray(4, 8)]));
            const m = new Writer();
            const at = m.begin(0x70);
            m.cstr(pw);
            m.end(at);
            return void socket.write(m.take());
          }
          if (code === 10) {
            const mechanisms = body.subarray(4).toString('utf8').split('\0');
            if (!mechanisms.includes('SCRAM-SHA-256'))
              return fail(
                wireError('28000', `no supported SASL mechanism among ${mechanisms.filter(Boolean).join(', ')}`),
              );
            if (o.password === undefined) return fail(noPassword(o));
            scram = new Scram(o.password);
            const first = Buffer.from(scram.clientFirst());
            const m = new Writer();
            const at = m.begin(0x70);
            m.cstr('SCRAM-SHA-256');
            m.int32(first.length);
            m.bytes(first);
            m.end(at);
            return void socket.write(m.take());
          }
          if (code === 11 && scram) {
            const final = Buffer.from(scram.clientFinal(body.subarray(4).toString('utf8')));
            const m = new Writer();
            const at = m.begin(0x70);
            m.bytes(final);
            m.end(at);
            return void socket.write(m.take());
          }
          if (code === 12 && scram) {
            if (!scram.verify(body.subarray(4).toString('utf8')))
              return fail(
                wireError('28000', 'the server signature of SCRAM-SHA-256 does not match: not the server expected'),
              );
            scramVerified = true;
            return;
          }
          return fail(wireError('28000', `authentication method ${code} is not supported by the load client`));
        }
        case 0x4b:
          this.pid = body.readInt32BE(0);
          this.secret = body.readInt32BE(4);
          return;
        case 0x45:
          return fail(parseError(body));
        case 0x5a:
          clearTimeout(timer);
          settle();
          this.handshake = undefined;
          socket.removeAllListeners('error');
          socket.on('error', (e) => this.destroy(asWireError(e)));
          socket.on('close', () => this.closedBySocket());
          watch(this);
          return resolve();
        case 0x53:
          // ParameterStatus: server_version tells the audit's timer which catalog columns exist.
          return this.parameterStatus(body);
        default:
          // NoticeResponse, NegotiateProtocolVersion: nothing to do.
          return;
      }
    };
    this.handshake = (type, body) => {
      try {
        step(type, body);
      } catch (e) {
        fail(asWireError(e as Error));
      }
    };
    if (!this.ownReads) socket.on('data', (d: Buffer) => this.receive(d));
    socket.on('close', () => fail(wireError('08006', 'the server closed the connection while connecting')));
  }

  private handshake?: (type: number, body: Buffer) => void;
  /** Fails the connect in progress. */
  private failOpen?: (err: WireError) => void;
  /** Reads arrive through the socket's onread callback, not 'data' events. */
  private ownReads = false;

  private closedBySocket(): void {
    live.delete(this);
    if (!this.closed) this.closed = wireError('08006', 'the server closed the connection');
    this.failAll(this.closed);
    for (const f of this.onClose.splice(0)) f();
  }

  // --- reading -----------------------------------------------------------------------------

  private receive(data: Buffer): void {
    this.lastByte = Date.now();
    // A message larger than what has arrived is collected until complete, then joined once.
    if (this.needed) {
      this.pendingChunks.push(Buffer.from(data));
      this.pendingLength += data.length;
      if (this.pendingLength < this.needed) return;
      data = Buffer.concat(this.pendingChunks, this.pendingLength);
      this.pendingChunks = [];
      this.pendingLength = 0;
      this.needed = 0;
    } else if (this.chunk) {
      data = Buffer.concat([this.chunk, data]);
      this.chunk = undefined;
    }
    let at = 0;
    const n = data.length;
    while (at + 5 <= n) {
      const type = data[at]!;
      const length = data.readInt32BE(at + 1);
      if (length < 4) return this.protocolViolation(`a message of type ${type} with length ${length}`);
      const end = at + 1 + length;
      if (end > n) break;
      if (type === 0x44) {
        // DataRow: counted, never decoded.
        const op = this.ops[this.opsHead];
        if (op && ++op.rows === 1 && op.wantValue) op.value = firstColumn(data, at + 5);
      } else if (this.handshake) {
        this.handshake(type, data.subarray(at + 5, end));
      } else {
        this.message(type, data, at + 5, end);
      }
      at = end;
      if (this.closed) return;
    }
    if (at < n) {
      const rest = data.subarray(at);
      if (rest.length >= 5) {
        const length = rest.readInt32BE(1);
        if (length < 4) return this.protocolViolation(`a message of type ${rest[0]} with length ${length}`);
        const need = 1 + length;
        this.pendingChunks = [Buffer.from(rest)];
        this.pendingLength = rest.length;
        this.needed = need;
      } else {
        this.chunk = Buffer.from(rest);
      }
    }
  }

  /** Bytes that are no PostgreSQL message: nothing after them can be read. */
  private protocolViolation(what: string): void {
    const err = wireError('08P01', `${this.opts.display} sent ${what}: not the PostgreSQL protocol`);
    if (this.handshake && this.failOpen) this.failOpen(err);
    else this.destroy(err);
  }

  private message(type: number, data: Buffer, start: number, end: number): void {
    switch (type) {
      case 0x5a: {
        // ReadyForQuery: the op's Sync group is over.
        const op = this.ops[this.opsHead];
        if (!op) return;
        this.ops[this.opsHead++] = undefined as unknown as Op;
        if (this.opsHead === this.ops.length) {
          this.ops.length = 0;
          this.opsHead = 0;
        } else if (this.opsHead > 1024 && this.opsHead * 2 > this.ops.length) {
          this.ops.splice(0, this.opsHead);
          this.opsHead = 0;
        }
        const status = data[start];
        if (op.closeTx && status !== 0x49) {
          // A group that failed inside its own transaction: end it before anything else runs.
          this.rollbackNow();
        }
        op.done(op.error, op.rows);
        return;
      }
      case 0x45: {
        const op = this.ops[this.opsHead];
        let err = parseError(data.subarray(start, end));
        // Only the statements whose Parse did not complete: an error at Bind or Execute (57014,
        // 55P03, 22012) leaves the parsed ones on the server, where the next request uses them.
        if (op?.parses) for (const st of op.parses.slice(op.parsed ?? 0)) this.forget(st, err);
        // The first of them whose Parse failed is the Bind that met 26000 (names are never reused).
        const failedParse = err.code === '26000' ? op?.binds?.find((n) => this.failedParses.has(n)) : undefined;
        if (failedParse) err = this.failedParses.get(failedParse)!;
        // FATAL: the server ends the session (pg_terminate_backend, shutdown); every request fails with it.
        if (err.severity === 'FATAL' || err.severity === 'PANIC') this.closed ??= err;
        if (op && !op.error) op.error = err;
        return;
      }
      case 0x31: {
        // ParseComplete: this op's next statement is on the server.
        const op = this.ops[this.opsHead];
        if (op?.parses) op.parsed = (op.parsed ?? 0) + 1;
        return;
      }
      default:
        // BindComplete, CommandComplete, EmptyQueryResponse, NoData, notices,
        // ParameterStatus, notifications: a load request needs none of them.
        if (type === 0x53) this.parameterStatus(data.subarray(start, end));
        return;
    }
  }

  private parameterStatus(body: Buffer): void {
    const zero = body.indexOf(0);
    this.parameters[body.toString('utf8', 0, zero)] = body.toString('utf8', zero + 1, body.length - 1);
  }

  /** A failed Parse: the statement is parsed again by the next request that uses it. */
  private forget(st: Statement, err: WireError): void {
    if (this.failedParses.size > 1000) this.failedParses.clear();
    this.failedParses.set(st.name, err);
    for (const [text, s] of this.statements) if (s === st) this.statements.delete(text);
  }

  private rollbackNow(): void {
    const op: Op = { done: () => this.onRolledBack?.(), rows: 0, text: 'ROLLBACK', closeTx: false };
    const w = this.out;
    const at = w.begin(0x51);
    w.cstr('ROLLBACK');
    w.end(at);
    // After every request already queued, in the same order on the wire (those already sent
    // fail as the transaction did: a caller pipelines nothing behind a group).
    this.ops.push(op);
    this.flush();
  }
}

/** SCRAM-SHA-256 without channel binding (RFC 5802, RFC 7677), as PostgreSQL runs it. */
export class Scram {
  private clientFirstBare = '';
  private serverSignature?: Buffer;

  /** PostgreSQL takes the user from the startup packet and ignores the one here (`*`). */
  constructor(
    private readonly password: string,
    private readonly nonce = randomBytes(18).toString('base64'),
    private readonly user = '*',
  ) {}

  clientFirst(): string {
    this.clientFirstBare = `n=${this.user},r=${this.nonce}`;
    return `n,,${this.clientFirstBare}`;
  }

  clientFinal(serverFirst: string): string {
    const attrs = new Map(serverFirst.split(',').map((kv) => [kv[0], kv.slice(2)] as const));
    const serverNonce = attrs.get('r') ?? '';
    const salt = Buffer.from(attrs.get('s') ?? '', 'base64');
    const iterations = Number(attrs.get('i'));
    if (!serverNonce.startsWith(this.nonce) || !iterations)
      throw wireError('28000', 'the server answered SCRAM-SHA-256 with an invalid first message');
    // PBKDF2 runs on the event loop: a huge count would freeze the process, every timer with it.
    if (iterations > MAX_SCRAM_ITERATIONS)
      throw wireError(
        '28000',
        `the server asks SCRAM-SHA-256 for ${iterations} iterations (more than ${MAX_SCRAM_ITERATIONS}): refused`,
      );
    const salted = saltedPassword(this.password, salt, iterations);
    const clientKey = hmac(salted, 'Client Key');
    const storedKey = createHash('sha256').update(clientKey).digest();
    const withoutProof = `c=biws,r=${serverNonce}`;
    const authMessage = `${this.clientFirstBare},${serverFirst},${withoutProof}`;
    const signature = hmac(storedKey, authMessage);
    const proof = Buffer.alloc(clientKey.length);
    for (let i = 0; i < proof.length; i++) proof[i] = clientKey[i]! ^ signature[i]!;
    this.serverSignature = hmac(hmac(salted, 'Server Key'), authMessage);
    return `${withoutProof},p=${proof.toString('base64')}`;
  }

  verify(serverFinal: string): boolean {
    const v = /(?:^|,)v=([^,]*)/.exec(serverFinal)?.[1];
    if (!v || !this.serverSignature) return false;
    const got = Buffer.from(v, 'base64');
    return got.length === this.serverSignature.length && timingSafeEqual(got, this.serverSignature);
  }
}

const MAX_SCRAM_ITERATIONS = 1_000_000;
/** SaltedPassword by (password, salt, iterations): the load's connections share one derivation. */
const saltedCache = new Map<string, Buffer>();

function saltedPassword(password: string, salt: Buffer, iterations: number): Buffer {
  const key = createHash('sha256')
    .update(password)
    .update('\0')
    .update(salt)
    .update(`\0${iterations}`)
    .digest('base64');
  let salted = saltedCache.get(key);
  if (!salted) {
    salted = pbkdf2Sync(password.normalize('NFKC'), salt, iterations, 32, 'sha256');
    if (saltedCache.size >= 16) saltedCache.clear();
    saltedCache.set(key, salted);
  }
  return salted;
}

function hmac(key: Buffer, text: string): Buffer {
  return createHmac('sha256', key).update(text).digest();
}

function md5(data: Buffer): string {
  return createHash('md5').update(data).digest('hex');
}

function int32s(...ns: number[]): Buffer {
  const b = Buffer.alloc(ns.length * 4);
  ns.forEach((n, i) => b.writeInt32BE(n, i * 4));
  return b;
}

const FIELDS: Record<string, keyof WireError> = {
  V: 'severity',
  C: 'code',
  M: 'message',
  D: 'detail',
  H: 'hint',
  P: 'position',
  W: 'where',
  s: 'schema',
  t: 'table',
  c: 'column',
  n: 'constraint',
};

/** The first column of a DataRow whose body starts at `at` (text format; null for SQL NULL). */
function firstColumn(data: Buffer, at: number): string | null | undefined {
  if (data.readInt16BE(at) === 0) return undefined;
  const n = data.readInt32BE(at + 2);
  return n < 0 ? null : data.toString('utf8', at + 6, at + 6 + n);
}

function parseError(body: Buffer): WireError {
  const fields: Partial<Record<keyof WireError, string>> = {};
  let at = 0;
  while (at < body.length && body[at] !== 0) {
    const key = String.fromCharCode(body[at]!);
    const found = body.indexOf(0, at + 1);
    // A field without its NUL runs to the end of the message.
    const zero = found < 0 ? body.length : found;
    const value = body.toString('utf8', at + 1, zero);
    const name = FIELDS[key];
    if (name) fields[name] = value;
    else if (key === 'S' && !fields.severity) fields.severity = value;
    at = zero + 1;
  }
  const err = new Error(fields.message ?? 'server error') as WireError;
  for (const [k, v] of Object.entries(fields)) if (k !== 'message') (err as unknown as Record<string, string>)[k] = v;
  err.code ??= 'XX000';
  return err;
}

function wireError(code: string, message: string): WireError {
  return Object.assign(new Error(message), { code });
}

/** A socket or TLS error: its errno code where it is a connection failure (ECONNREFUSED, ...). */
function asWireError(e: Error): WireError {
  const code = (e as { code?: string }).code;
  return Object.assign(e, { code: code ?? '08006' }) as WireError;
}

function noPassword(o: WireOptions): WireError {
  return wireError('28P01', `the server asks for a password for user "${o.user}" and none was given`);
}

function seconds(ms: number): string {
  return ms < 10_000 ? (ms / 1000).toFixed(1) : String(Math.round(ms / 1000));
}
