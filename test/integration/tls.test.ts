// TLS as libpq makes it, against a server this file starts with a CA and certificates made
// here by openssl: verify-full/verify-ca/require/prefer/allow/disable, client certificates,
// PGSSL* variables, ~/.pgpass, and failures that say whether the host name or the CA failed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, rmSync, mkdirSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { connect, targetFromUrl, type ConnectionTarget } from '../../src/db/connection.js';
import { DbOptError } from '../../src/errors.js';
import { startOwnServer, type OwnServer } from '../helpers/ownServer.js';

const KEY_PASS = 'k3y-pass-Xq81';
let server: OwnServer;
let certs: string;
let home: string;

function openssl(...args: string[]): void {
  execFileSync('openssl', args, { cwd: certs, stdio: 'pipe' });
}

/** A CA, a server certificate for DNS:localhost only, a client certificate for certuser, a second CA. */
function makeCertificates(): void {
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl('req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=dbopt test CA');
  openssl(
    'req',
    '-x509',
    ...ec,
    '-keyout',
    'other-ca.key',
    '-out',
    'other-ca.pem',
    '-days',
    '2',
    '-subj',
    '/CN=some other CA',
  );
  writeFileSync(path.join(certs, 'server.ext'), 'subjectAltName=DNS:localhost\n');
  openssl('req', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost');
  openssl(
    'x509',
    '-req',
    '-in',
    'server.csr',
    '-CA',
    'ca.pem',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-out',
    'server.pem',
    '-days',
    '2',
    '-extfile',
    'server.ext',
  );
  openssl('req', ...ec, '-keyout', 'client.key', '-out', 'client.csr', '-subj', '/CN=certuser');
  openssl(
    'x509',
    '-req',
    '-in',
    'client.csr',
    '-CA',
    'ca.pem',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-out',
    'client.pem',
    '-days',
    '2',
  );
  openssl('pkey', '-in', 'client.key', '-aes256', '-passout', `pass:${KEY_PASS}`, '-out', 'client-enc.key');
  for (const f of ['client.key', 'client-enc.key']) chmodSync(path.join(certs, f), 0o600);
}

const HBA = `
hostssl all certuser 127.0.0.1/32 cert
host    all certuser 127.0.0.1/32 reject
hostnossl all tlsonly 127.0.0.1/32 reject
host    all all 127.0.0.1/32 scram-sha-256
host    all all ::1/128 scram-sha-256
`;

beforeAll(async () => {
  certs = mkdtempSync(path.join(tmpdir(), 'dbopt-tls-'));
  home = mkdtempSync(path.join(tmpdir(), 'dbopt-tls-home-'));
  makeCertificates();
  server = await startOwnServer({
    files: {
      'server.pem': readFileSync(path.join(certs, 'server.pem'), 'utf8'),
      'server.key': readFileSync(path.join(certs, 'server.key'), 'utf8'),
      'ca.pem': readFileSync(path.join(certs, 'ca.pem'), 'utf8'),
      'hba.conf': HBA,
    },
    settings: {
      ssl: 'on',
      ssl_cert_file: '$DIR/server.pem',
      ssl_key_file: '$DIR/server.key',
      ssl_ca_file: '$DIR/ca.pem',
      hba_file: '$DIR/hba.conf',
    },
  });
  const admin = new pg.Client({ connectionString: server.adminUrl });
  await admin.connect();
  await admin.query(`CREATE ROLE certuser LOGIN`);
  await admin.query(`CREATE ROLE tlsonly LOGIN PASSWORD 'tls-only-pw'`);
  await admin.end();
});

afterAll(async () => {
  await server?.stop();
  if (certs) rmSync(certs, { recursive: true, force: true });
  if (home) rmSync(home, { recursive: true, force: true });
});

/** A URL to the own server; `auth` false drops the password. */
function url(host: string, params: Record<string, string>, user = 'postgres', withPassword = true): string {
  const u = new URL(`postgres://${user}@${host}:${server.port}/postgres`);
  if (withPassword && user === 'postgres') u.password = server.password;
  for (const [k, v] of Object.entries(params)) u.searchParams.set(k, v);
  return u.toString();
}

const env = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => ({ HOME: home, ...extra });
const cert = (f: string): string => path.join(certs, f);

async function sslInUse(target: ConnectionTarget): Promise<{ ssl: boolean; user: string }> {
  const c = await connect(target);
  try {
    const { rows } = await c.query<{ ssl: boolean; user: string }>(
      'SELECT ssl, current_user AS user FROM pg_stat_ssl WHERE pid = pg_backend_pid()',
    );
    return rows[0]!;
  } finally {
    await c.end();
  }
}

async function failure(target: ConnectionTarget): Promise<DbOptError> {
  try {
    const c = await connect(target);
    await c.end();
  } catch (err) {
    expect(err).toBeInstanceOf(DbOptError);
    return err as DbOptError;
  }
  throw new Error('connected, but a failure was expected');
}

function expectNoSecrets(text: string): void {
  expect(text).not.toContain('PRIVATE KEY');
  expect(text).not.toContain(KEY_PASS);
  expect(text).not.toContain(server.password);
  expect(text).not.toContain('tls-only-pw');
}

describe('sslmode as libpq reads it', () => {
  it('verify-full with sslrootcert connects over TLS to the name the certificate gives', async () => {
    const t = targetFromUrl(url('localhost', { sslmode: 'verify-full', sslrootcert: cert('ca.pem') }), 'test', env());
    expect(await sslInUse(t)).toMatchObject({ ssl: true });
  });

  it('verify-full to a name the certificate does not give fails with exit 3 naming the host name check', async () => {
    const t = targetFromUrl(url('127.0.0.1', { sslmode: 'verify-full', sslrootcert: cert('ca.pem') }), 'test', env());
    const err = await failure(t);
    expect(err.exitCode).toBe(3);
    expect(err.message).toMatch(/TLS host name check failed/);
    expect(err.message).toContain('127.0.0.1');
    expect(err.message).not.toMatch(/CA check/);
    expectNoSecrets(`${err.message}\n${err.hint}`);
  });

  it('verify-full with the wrong CA fails with exit 3 naming the CA check', async () => {
    const t = targetFromUrl(
      url('localhost', { sslmode: 'verify-full', sslrootcert: cert('other-ca.pem') }),
      'test',
      env(),
    );
    const err = await failure(t);
    expect(err.exitCode).toBe(3);
    expect(err.message).toMatch(/TLS CA check failed/);
    expect(err.message).toContain(cert('other-ca.pem'));
    expectNoSecrets(`${err.message}\n${err.hint}`);
  });

  it('verify-ca checks the CA but not the name', async () => {
    const ok = targetFromUrl(url('127.0.0.1', { sslmode: 'verify-ca', sslrootcert: cert('ca.pem') }), 'test', env());
    expect(await sslInUse(ok)).toMatchObject({ ssl: true });
    const bad = targetFromUrl(
      url('127.0.0.1', { sslmode: 'verify-ca', sslrootcert: cert('other-ca.pem') }),
      'test',
      env(),
    );
    expect((await failure(bad)).message).toMatch(/TLS CA check failed/);
  });

  it('require encrypts without checking the certificate', async () => {
    const t = targetFromUrl(url('127.0.0.1', { sslmode: 'require' }), 'test', env());
    expect(await sslInUse(t)).toMatchObject({ ssl: true });
  });

  it('require with a root certificate in ~/.postgresql checks the CA, as libpq does', async () => {
    const h = mkdtempSync(path.join(tmpdir(), 'dbopt-tls-home2-'));
    mkdirSync(path.join(h, '.postgresql'));
    writeFileSync(path.join(h, '.postgresql', 'root.crt'), readFileSync(cert('other-ca.pem')));
    try {
      const t = targetFromUrl(url('127.0.0.1', { sslmode: 'require' }), 'test', { HOME: h });
      expect((await failure(t)).message).toMatch(/TLS CA check failed/);
    } finally {
      rmSync(h, { recursive: true, force: true });
    }
  });

  it('verify-full without any root certificate is a config error saying where it looked', async () => {
    let err: unknown;
    try {
      targetFromUrl(url('localhost', { sslmode: 'verify-full' }), 'test', env());
    } catch (e) {
      err = e;
    }
    expect((err as DbOptError).exitCode).toBe(2);
    expect((err as DbOptError).message).toContain(path.join(home, '.postgresql', 'root.crt'));
  });

  it('PGSSLMODE and PGSSLROOTCERT apply when the URL does not say; the URL wins over them', async () => {
    const t = targetFromUrl(
      url('localhost', {}),
      'test',
      env({ PGSSLMODE: 'verify-full', PGSSLROOTCERT: cert('ca.pem') }),
    );
    expect(await sslInUse(t)).toMatchObject({ ssl: true });
    const plain = targetFromUrl(
      url('localhost', { sslmode: 'disable' }),
      'test',
      env({ PGSSLMODE: 'verify-full', PGSSLROOTCERT: cert('ca.pem') }),
    );
    expect(await sslInUse(plain)).toMatchObject({ ssl: false });
  });

  it('prefer (the default) uses TLS when the server offers it; allow starts plain and upgrades when refused', async () => {
    expect(await sslInUse(targetFromUrl(url('127.0.0.1', {}), 'test', env()))).toMatchObject({ ssl: true });
    expect(await sslInUse(targetFromUrl(url('127.0.0.1', { sslmode: 'allow' }), 'test', env()))).toMatchObject({
      ssl: false,
    });
    const tlsOnly = `postgres://tlsonly:tls-only-pw@127.0.0.1:${server.port}/postgres?sslmode=allow`;
    expect(await sslInUse(targetFromUrl(tlsOnly, 'test', env()))).toMatchObject({ ssl: true, user: 'tlsonly' });
    const refused = await failure(targetFromUrl(tlsOnly.replace('allow', 'disable'), 'test', env()));
    expect(refused.exitCode).toBe(3);
    expectNoSecrets(`${refused.message}\n${refused.hint}`);
  });
});

describe('client certificates', () => {
  it('sslcert/sslkey authenticate a user by certificate (pg_hba cert)', async () => {
    const params = {
      sslmode: 'verify-full',
      sslrootcert: cert('ca.pem'),
      sslcert: cert('client.pem'),
      sslkey: cert('client.key'),
    };
    const t = targetFromUrl(url('localhost', params, 'certuser', false), 'test', env());
    expect(await sslInUse(t)).toEqual({ ssl: true, user: 'certuser' });
  });

  it('PGSSLCERT/PGSSLKEY work too, and an encrypted key opens with sslpassword', async () => {
    const e = env({
      PGSSLMODE: 'verify-full',
      PGSSLROOTCERT: cert('ca.pem'),
      PGSSLCERT: cert('client.pem'),
      PGSSLKEY: cert('client-enc.key'),
    });
    const t = targetFromUrl(url('localhost', { sslpassword: KEY_PASS }, 'certuser', false), 'test', e);
    expect(await sslInUse(t)).toEqual({ ssl: true, user: 'certuser' });
    expect(t.secrets).toContain(KEY_PASS);
  });

  it('a wrong sslpassword or no certificate says so without showing key material', async () => {
    const e = env({
      PGSSLMODE: 'verify-full',
      PGSSLROOTCERT: cert('ca.pem'),
      PGSSLCERT: cert('client.pem'),
      PGSSLKEY: cert('client-enc.key'),
    });
    let err: DbOptError | undefined;
    try {
      targetFromUrl(url('localhost', { sslpassword: 'not-the-pass' }, 'certuser', false), 'test', e);
    } catch (x) {
      err = x as DbOptError;
    }
    expect(err?.exitCode).toBe(2);
    expect(err?.message).toMatch(/cannot be read with the given sslpassword/);
    expect(`${err?.message}${err?.hint}`).not.toContain('not-the-pass');
    expectNoSecrets(`${err?.message}${err?.hint}`);
    const noCert = await failure(
      targetFromUrl(
        url('localhost', { sslmode: 'verify-full', sslrootcert: cert('ca.pem') }, 'certuser', false),
        'test',
        env(),
      ),
    );
    expect(noCert.exitCode).toBe(3);
    expectNoSecrets(`${noCert.message}\n${noCert.hint}`);
  });
});

describe('~/.pgpass', () => {
  it('gives the password when the URL has none (PGPASSFILE or ~/.pgpass); a file others can read is ignored', async () => {
    const file = path.join(home, '.pgpass');
    writeFileSync(
      file,
      `# comment\nother:1:*:*:nope\n127.0.0.1:${server.port}:*:postgres:${server.password.replaceAll(':', '\\:')}\n`,
      { mode: 0o600 },
    );
    chmodSync(file, 0o600);
    const t = targetFromUrl(url('127.0.0.1', { sslmode: 'require' }, 'postgres', false), 'test', env());
    expect(t.secrets).toContain(server.password);
    expect(await sslInUse(t)).toMatchObject({ user: 'postgres' });
    const alt = path.join(certs, 'pgpass-alt');
    writeFileSync(alt, `*:*:*:postgres:${server.password.replaceAll(':', '\\:')}\n`, { mode: 0o600 });
    chmodSync(alt, 0o600);
    const viaEnv = targetFromUrl(url('127.0.0.1', {}, 'postgres', false), 'test', env({ PGPASSFILE: alt }));
    expect(await sslInUse(viaEnv)).toMatchObject({ user: 'postgres' });
    chmodSync(file, 0o644);
    const open = targetFromUrl(url('127.0.0.1', {}, 'postgres', false), 'test', env());
    expect(open.config.password).toBeUndefined();
    const err = await failure(open);
    expect(err.exitCode).toBe(3);
  });
});
