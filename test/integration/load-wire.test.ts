// The load phase's wire client against real servers: SCRAM-SHA-256, MD5, cleartext and trust
// authentication (a server of this file's own, with a pg_hba.conf naming each method), SQLSTATE
// codes of server errors (also for pipelined requests behind a failed Parse), CancelRequest,
// the connect timeout against a socket that accepts and never answers, and the watchdog
// failing the requests of a frozen (SIGSTOPped) server with 08006 instead of hanging.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { startOwnServer, type OwnServer } from '../helpers/ownServer.js';
import { targetFromUrl } from '../../src/db/connection.js';
import { loadConnection } from '../../src/audit/load/connections.js';
import { WireConnection, type WireError, type WireParam } from '../../src/audit/load/wire.js';

const HBA = [
  'local all all trust',
  'hostnossl all tlsonly 127.0.0.1/32 reject',
  'host all trusted 127.0.0.1/32 trust',
  'host all clear 127.0.0.1/32 password',
  'host all all 127.0.0.1/32 md5',
  '',
].join('\n');

let server: OwnServer;
let admin: pg.Client;

/** A self-signed certificate for the server's TLS (nothing here checks the CA). */
function selfSigned(): { cert: string; key: string } {
  const dir = mkdtempSync(path.join(tmpdir(), 'dbopt-wire-tls-'));
  try {
    execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'].concat([
        '-keyout',
        'k.pem',
        '-out',
        'c.pem',
        '-days',
        '2',
        '-subj',
        '/CN=localhost',
      ]),
      { cwd: dir, stdio: 'pipe' },
    );
    return { cert: readFileSync(path.join(dir, 'c.pem'), 'utf8'), key: readFileSync(path.join(dir, 'k.pem'), 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

beforeAll(async () => {
  const tls = selfSigned();
  server = await startOwnServer({
    files: { 'hba.conf': HBA, 'server.pem': tls.cert, 'server.key': tls.key },
    settings: {
      hba_file: '$DIR/hba.conf',
      ssl: 'on',
      ssl_cert_file: '$DIR/server.pem',
      ssl_key_file: '$DIR/server.key',
    },
  });
  admin = new pg.Client({ connectionString: server.adminUrl });
  admin.on('error', () => undefined);
  await admin.connect();
  await admin.query(`SET password_encryption = 'scram-sha-256'`);
  await admin.query(`CREATE ROLE scrammed LOGIN PASSWORD 'sc r@m'`);
  await admin.query(`CREATE ROLE clear LOGIN PASSWORD 'plain'`);
  await admin.query(`CREATE ROLE trusted LOGIN`);
  await admin.query(`CREATE ROLE tlsonly LOGIN PASSWORD 'tls pw'`);
  await admin.query(`SET password_encryption = 'md5'`);
  await admin.query(`CREATE ROLE hashed LOGIN PASSWORD 'md5 secret'`);
  await admin.query(`CREATE TABLE t (id int)`);
  await admin.query(`GRANT SELECT ON t TO PUBLIC`);
}, 120_000);

afterAll(async () => {
  await admin?.end().catch(() => undefined);
  await server?.stop();
});

function urlAs(user: string, password?: string, sslmode?: string): string {
  const u = new URL(server.adminUrl);
  u.username = user;
  u.password = password ?? '';
  if (sslmode) u.searchParams.set('sslmode', sslmode);
  return u.toString();
}

function connectAs(user: string, password?: string, sslmode?: string): Promise<WireConnection> {
  return loadConnection(targetFromUrl(urlAs(user, password, sslmode), 'test', {}), {
    statementTimeoutMs: 5000,
    lockTimeoutMs: 1000,
  });
}

function query(c: WireConnection, text: string, values: WireParam[] = []): Promise<number> {
  return new Promise((resolve, reject) => c.query(text, values, (err, rows) => (err ? reject(err) : resolve(rows))));
}

function failure(p: Promise<unknown>): Promise<WireError> {
  return p.then(
    () => {
      throw new Error('expected a failure');
    },
    (err: unknown) => err as WireError,
  );
}

describe('authentication', () => {
  it('SCRAM-SHA-256 with a password holding spaces and @; a wrong password is 28P01', async () => {
    const { rows } = await admin.query(`SELECT rolpassword FROM pg_authid WHERE rolname = 'scrammed'`);
    expect(rows[0].rolpassword).toMatch(/^SCRAM-SHA-256\$/);
    const c = await connectAs('scrammed', 'sc r@m');
    expect(await query(c, 'SELECT generate_series(1, $1::int)', [3])).toBe(3);
    await c.end();
    expect((await failure(connectAs('scrammed', 'wrong'))).code).toBe('28P01');
  });

  it('MD5 for a role whose password is stored as MD5', async () => {
    const { rows } = await admin.query(`SELECT rolpassword FROM pg_authid WHERE rolname = 'hashed'`);
    expect(rows[0].rolpassword).toMatch(/^md5/);
    const c = await connectAs('hashed', 'md5 secret');
    expect(await query(c, 'SELECT 1')).toBe(1);
    await c.end();
    expect((await failure(connectAs('hashed', 'nope'))).code).toBe('28P01');
  });

  it('cleartext password and trust', async () => {
    const clear = await connectAs('clear', 'plain');
    expect(await query(clear, 'SELECT 1')).toBe(1);
    await clear.end();
    const trusted = await connectAs('trusted');
    expect(await query(trusted, 'SELECT 1')).toBe(1);
    await trusted.end();
    const err = await failure(connectAs('clear'));
    expect(err.code).toBe('28P01');
    expect(err.message).toMatch(/none was given/);
  });
});

describe('TLS', () => {
  const sslOf = async (c: WireConnection): Promise<boolean> => {
    const { rows } = await admin.query(`SELECT ssl FROM pg_stat_ssl WHERE pid = $1`, [c.pid]);
    await c.end();
    return rows[0]?.ssl as boolean;
  };

  it('require and prefer use TLS, disable does not; allow falls back to TLS when plain is refused', async () => {
    expect(await sslOf(await connectAs('scrammed', 'sc r@m', 'require'))).toBe(true);
    expect(await sslOf(await connectAs('scrammed', 'sc r@m', 'prefer'))).toBe(true);
    expect(await sslOf(await connectAs('scrammed', 'sc r@m', 'disable'))).toBe(false);
    expect(await sslOf(await connectAs('tlsonly', 'tls pw', 'allow'))).toBe(true);
    expect((await failure(connectAs('tlsonly', 'tls pw', 'disable'))).code).toBe('28000');
  });
});

describe('requests', () => {
  it('reports SQLSTATE codes, the position of a syntax error, and the Parse error for pipelined requests behind it', async () => {
    const c = await connectAs('scrammed', 'sc r@m');
    try {
      const broken = [failure(query(c, 'SELEC 1')), failure(query(c, 'SELEC 1')), query(c, 'SELECT 2')];
      const [a, b, ok] = await Promise.all(broken);
      expect((a as WireError).code).toBe('42601');
      expect((a as WireError).position).toBe('1');
      // The second was bound to the statement whose Parse failed: it reports that, not 26000.
      expect((b as WireError).code).toBe('42601');
      expect(ok).toBe(1);
      expect((await failure(query(c, 'SELECT 1 / $1::int', [0]))).code).toBe('22012');
      // Read-only from the startup packet on.
      expect((await failure(query(c, 'CREATE TABLE nope (id int)'))).code).toBe('25006');
      // A group that fails inside its own transaction is rolled back; the connection goes on.
      const groupErr = await new Promise<WireError | undefined>((resolve) =>
        c.group(
          [
            ['BEGIN READ WRITE', []],
            ['SELECT 1 / 0', []],
            ['ROLLBACK', []],
          ],
          (err) => resolve(err),
        ),
      );
      expect(groupErr?.code).toBe('22012');
      expect(await query(c, `SELECT 1 WHERE current_setting('transaction_read_only') = 'on'`)).toBe(1);
      // NULL and numbers as parameters (text format).
      expect(await query(c, 'SELECT 1 WHERE $1::int IS NULL AND $2::numeric = 1.5', [null, 1.5])).toBe(1);
    } finally {
      await c.end();
    }
  });

  it('keeps one named statement for a request that always fails at execute', async () => {
    const c = await connectAs('scrammed', 'sc r@m');
    try {
      const text = 'SELECT 1 / $1::int';
      for (let i = 0; i < 5; i++) expect((await failure(query(c, text, [0]))).code).toBe('22012');
      // Its Parse completed: the next requests reuse it rather than parse it again under new names.
      expect(await query(c, 'SELECT 1 FROM pg_prepared_statements WHERE statement = $1', [text])).toBe(1);
      expect(await query(c, text, [1])).toBe(1);
      // The session check at connect, the failing one and the two counting ones.
      expect(await query(c, 'SELECT 1 FROM pg_prepared_statements')).toBe(4);
    } finally {
      await c.end();
    }
  });

  it('returns one text value where asked (row, NULL, none), names its statements, knows server_version', async () => {
    const c = await connectAs('scrammed', 'sc r@m');
    const value = (text: string, values: WireParam[] = []): Promise<string | null | undefined> =>
      new Promise((resolve, reject) => c.queryValue(text, values, (err, v) => (err ? reject(err) : resolve(v))));
    try {
      expect(await value(`SELECT $1::text || 'ü', 2`, ['ä'])).toBe('äü');
      expect(await value('SELECT NULL::text')).toBeNull();
      expect(await value('SELECT 1 WHERE false')).toBeUndefined();
      expect((await failure(value('SELECT 1 / 0'))).code).toBe('22012');
      const name = c.statementName(`SELECT $1::text || 'ü', 2`)!;
      expect(await value('SELECT statement FROM pg_prepared_statements WHERE name = $1', [name])).toBe(
        `SELECT $1::text || 'ü', 2`,
      );
      expect(c.statementName('never sent')).toBeUndefined();
      // From the ParameterStatus messages of the startup, before any request.
      expect(c.parameters.server_version).toMatch(/^\d+/);
    } finally {
      await c.end();
    }
  });

  it('cancels what the connection runs (57014) and keeps it usable', async () => {
    const c = await connectAs('scrammed', 'sc r@m');
    try {
      const slow = failure(query(c, 'SELECT pg_sleep(30)'));
      for (let i = 0; ; i++) {
        const { rows } = await admin.query(`SELECT 1 FROM pg_stat_activity WHERE pid = $1 AND state = 'active'`, [
          c.pid,
        ]);
        if (rows.length) break;
        if (i > 200) throw new Error('pg_sleep never started');
        await new Promise((r) => setTimeout(r, 20));
      }
      c.cancel();
      expect((await slow).code).toBe('57014');
      expect(await query(c, 'SELECT 1')).toBe(1);
    } finally {
      await c.end();
    }
  });
});

describe('bounds', () => {
  it('gives up connecting to a socket that accepts and never answers (timeout expired)', async () => {
    const silent = net.createServer(() => undefined);
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
    const port = (silent.address() as net.AddressInfo).port;
    try {
      const err = await failure(
        WireConnection.connect({
          host: '127.0.0.1',
          port,
          user: 'u',
          database: 'd',
          ssl: false,
          params: {},
          connectTimeoutMs: 300,
          display: `u@127.0.0.1:${port}/d`,
        }),
      );
      expect(err.code).toBe('08001');
      expect(err.message).toMatch(
        /no answer from u@127\.0\.0\.1:\d+\/d for 0\.3 s while connecting \(timeout expired\)/,
      );
    } finally {
      silent.close();
    }
  });

  it('fails the requests of a frozen server with 08006 once it was silent past statement_timeout + a margin', async () => {
    const c = await loadConnection(targetFromUrl(urlAs('scrammed', 'sc r@m'), 'test', {}), {
      statementTimeoutMs: 200,
      lockTimeoutMs: 100,
    });
    server.freeze();
    try {
      const [a, b] = await Promise.all([failure(query(c, 'SELECT 1')), failure(query(c, 'SELECT 2'))]);
      for (const err of [a, b]) {
        expect(err.code).toBe('08006');
        expect(err.message).toMatch(
          /no answer from scrammed@127\.0\.0\.1:\d+\/postgres for \d+\.\d s while running "SELECT 1" \(statement_timeout 0\.2 s: the server should have answered/,
        );
      }
      expect(c.isClosed).toBe(true);
      expect((await failure(query(c, 'SELECT 3'))).code).toBe('08006');
    } finally {
      server.resume();
    }
    await c.end();
  });
});
