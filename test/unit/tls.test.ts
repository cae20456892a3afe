// sslmode as libpq means it, turned into node TLS options: what is verified, what falls back.
import { afterAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { classifyTlsError, planTls, tlsParamsFrom } from '../../src/db/tls.js';
import { DbOptError } from '../../src/errors.js';

const home = mkdtempSync(path.join(tmpdir(), 'dbopt-tls-unit-'));
const withRoot = mkdtempSync(path.join(tmpdir(), 'dbopt-tls-unit-root-'));
mkdirSync(path.join(withRoot, '.postgresql'));
writeFileSync(path.join(withRoot, '.postgresql', 'root.crt'), 'not parsed here\n');
afterAll(() => {
  rmSync(home, { recursive: true, force: true });
  rmSync(withRoot, { recursive: true, force: true });
});

const plan = (params: Record<string, string>, h = home) => planTls(params, 'db.internal', 'test', h);

describe('planTls', () => {
  it('disable is plain; prefer tries TLS without checks then plain; allow plain then TLS', () => {
    expect(plan({ sslmode: 'disable' }).first).toBe(false);
    const prefer = plan({});
    expect(prefer.mode).toBe('prefer');
    expect(prefer.first).toMatchObject({ rejectUnauthorized: false, servername: 'db.internal' });
    expect(prefer.fallback).toBe(false);
    const allow = plan({ sslmode: 'allow' });
    expect(allow.first).toBe(false);
    expect(allow.fallback).toMatchObject({ rejectUnauthorized: false });
  });

  it('require does not verify, unless a root certificate exists (then it acts as verify-ca)', () => {
    expect(plan({ sslmode: 'require' })).toMatchObject({
      verifyCa: false,
      verifyHost: false,
      first: { rejectUnauthorized: false },
    });
    const r = plan({ sslmode: 'require' }, withRoot);
    expect(r).toMatchObject({
      verifyCa: true,
      verifyHost: false,
      rootCert: path.join(withRoot, '.postgresql', 'root.crt'),
    });
  });

  it('verify-ca checks the chain only; verify-full the name too', () => {
    const ca = plan({ sslmode: 'verify-ca' }, withRoot);
    expect(ca.verifyHost).toBe(false);
    expect(typeof (ca.first as { checkServerIdentity?: unknown }).checkServerIdentity).toBe('function');
    const full = plan({ sslmode: 'verify-full' }, withRoot);
    expect(full.verifyHost).toBe(true);
    expect((full.first as { checkServerIdentity?: unknown }).checkServerIdentity).toBeUndefined();
  });

  it('sslrootcert=system uses the public CAs and makes verify-full the default; weaker modes are refused', () => {
    const sys = plan({ sslrootcert: 'system' });
    expect(sys).toMatchObject({ mode: 'verify-full', rootCert: 'system' });
    expect((sys.first as { ca?: unknown }).ca).toBeUndefined();
    expect(() => plan({ sslrootcert: 'system', sslmode: 'require' })).toThrow(/needs sslmode=verify-full/);
  });

  it('an unknown sslmode, a missing file or a key without a cert are config errors (exit 2)', () => {
    const cases: Record<string, string>[] = [
      { sslmode: 'verify' },
      { sslmode: 'verify-full', sslrootcert: '/nonexistent/ca.pem' },
    ];
    for (const params of cases) {
      let err: unknown;
      try {
        plan(params);
      } catch (e) {
        err = e;
      }
      expect((err as DbOptError).exitCode).toBe(2);
    }
  });
});

describe('tlsParamsFrom', () => {
  it("takes the URL first, then PGSSL*; node-pg's ssl=true reads as require", () => {
    const env = {
      PGSSLMODE: 'verify-ca',
      PGSSLROOTCERT: '/env/ca.pem',
      PGSSLCERT: '/env/c.pem',
      PGSSLKEY: '/env/c.key',
    };
    expect(tlsParamsFrom(new URLSearchParams('sslmode=require'), env)).toMatchObject({
      sslmode: 'require',
      sslrootcert: '/env/ca.pem',
    });
    expect(tlsParamsFrom(undefined, env)).toMatchObject({
      sslmode: 'verify-ca',
      sslcert: '/env/c.pem',
      sslkey: '/env/c.key',
    });
    expect(tlsParamsFrom(new URLSearchParams('ssl=true'), {}).sslmode).toBe('require');
  });
});

describe('classifyTlsError', () => {
  it('tells a host name failure from a CA failure', () => {
    expect(
      classifyTlsError(
        Object.assign(new Error("Hostname/IP does not match certificate's altnames"), {
          code: 'ERR_TLS_CERT_ALTNAME_INVALID',
        }),
      ),
    ).toBe('host');
    expect(
      classifyTlsError(
        Object.assign(new Error('self-signed certificate in certificate chain'), { code: 'SELF_SIGNED_CERT_IN_CHAIN' }),
      ),
    ).toBe('ca');
    expect(classifyTlsError(new Error('The server does not support SSL connections'))).toBe('refused');
    expect(
      classifyTlsError(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })),
    ).toBeUndefined();
  });
});
