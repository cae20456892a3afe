// TLS as libpq makes it: sslmode (disable, allow, prefer, require, verify-ca, verify-full) with
// libpq's meanings, sslrootcert/sslcert/sslkey/sslpassword from the URL or the PGSSL*
// variables, the ~/.postgresql defaults, and failures that say whether the host name or the CA
// failed. node-pg's own reading of sslmode differs from libpq's (its `require` verifies, it has
// no prefer/allow fallback), so dbopt builds the `ssl` options itself.
// https://www.postgresql.org/docs/current/libpq-ssl.html
import { createPrivateKey } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import type { ConnectionOptions } from 'node:tls';
import { ConfigError } from '../errors.js';

export const SSL_MODES = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'] as const;
export type SslMode = (typeof SSL_MODES)[number];

export interface TlsParams {
  sslmode?: string;
  sslrootcert?: string;
  sslcert?: string;
  sslkey?: string;
  sslpassword?: string;
}

export interface TlsPlan {
  mode: SslMode;
  /** Options for the first attempt (false: plain). */
  first: ConnectionOptions | false;
  /** prefer/allow: the other attempt when the first is refused. */
  fallback?: ConnectionOptions | false;
  /** Whether the server certificate is checked against a CA, and its name against the host. */
  verifyCa: boolean;
  verifyHost: boolean;
  /** Where the CA came from (file path or "system"), for messages. */
  rootCert?: string;
  /** sslpassword: never print it. */
  secrets: string[];
}

/** The PGSSL* variables libpq reads, under the URL's own parameters (libpq: the string wins). */
export function tlsParamsFrom(url: URLSearchParams | undefined, env: NodeJS.ProcessEnv): TlsParams {
  const pick = (key: string, envKey: string): string | undefined => url?.get(key) ?? (env[envKey] || undefined);
  const params: TlsParams = {
    sslmode: pick('sslmode', 'PGSSLMODE'),
    sslrootcert: pick('sslrootcert', 'PGSSLROOTCERT'),
    sslcert: pick('sslcert', 'PGSSLCERT'),
    sslkey: pick('sslkey', 'PGSSLKEY'),
    sslpassword: url?.get('sslpassword') ?? undefined,
  };
  // node-pg's ssl=true / ssl=1 in a URL: treat as require (libpq has no such key).
  if (!params.sslmode && url && ['true', '1'].includes(url.get('ssl') ?? '')) params.sslmode = 'require';
  return params;
}

/** Turn libpq parameters into node TLS options, reading the certificate files now. */
export function planTls(params: TlsParams, host: string, source: string, home: string = homedir()): TlsPlan {
  const pgDir = path.join(home, '.postgresql');
  let rootCert = params.sslrootcert;
  const system = rootCert === 'system';
  const modeText = params.sslmode ?? (system ? 'verify-full' : 'prefer');
  if (!(SSL_MODES as readonly string[]).includes(modeText)) {
    throw new ConfigError(`${source}: sslmode "${modeText}" is not one of ${SSL_MODES.join(', ')}`, {
      hint: 'Use sslmode=verify-full with sslrootcert=FILE for a server with a private CA, or sslmode=require to encrypt without checking.',
    });
  }
  if (system && modeText !== 'verify-full') {
    throw new ConfigError(`${source}: sslrootcert=system needs sslmode=verify-full, got sslmode=${modeText}`, {
      hint: 'Drop sslmode (it then defaults to verify-full), or set it to verify-full.',
    });
  }
  const mode = modeText as SslMode;
  const secrets = params.sslpassword ? [params.sslpassword] : [];
  if (mode === 'disable') return { mode, first: false, verifyCa: false, verifyHost: false, secrets };

  // libpq: a root certificate present (named, or ~/.postgresql/root.crt) makes require act as verify-ca.
  const defaultRoot = path.join(pgDir, 'root.crt');
  if (!rootCert && existsSync(defaultRoot)) rootCert = defaultRoot;
  let verifyCa = mode === 'verify-ca' || mode === 'verify-full' || (mode === 'require' && rootCert !== undefined);
  const verifyHost = mode === 'verify-full';
  if (mode === 'prefer' || mode === 'allow') verifyCa = false;

  const opts: ConnectionOptions = { rejectUnauthorized: verifyCa };
  if (verifyCa) {
    if (!rootCert) {
      throw new ConfigError(
        `${source}: sslmode=${mode} checks the server certificate, but there is no root certificate: ${defaultRoot} does not exist`,
        {
          hint: 'Set sslrootcert=/path/to/ca.pem (or PGSSLROOTCERT), use sslrootcert=system for the public CAs, or sslmode=require to encrypt without checking.',
        },
      );
    }
    if (!system) opts.ca = readTlsFile(rootCert, 'sslrootcert', source);
    // verify-ca checks the chain only; the default checkServerIdentity would also check the name.
    if (!verifyHost) opts.checkServerIdentity = () => undefined;
  }

  const certFile =
    params.sslcert ?? (existsSync(path.join(pgDir, 'postgresql.crt')) ? path.join(pgDir, 'postgresql.crt') : undefined);
  const keyFile =
    params.sslkey ??
    (certFile
      ? existsSync(path.join(pgDir, 'postgresql.key'))
        ? path.join(pgDir, 'postgresql.key')
        : undefined
      : undefined);
  if (certFile) {
    opts.cert = readTlsFile(certFile, 'sslcert', source);
    if (!keyFile) {
      throw new ConfigError(`${source}: sslcert=${certFile} is set but there is no key for it`, {
        hint: 'Set sslkey=/path/to/client.key (or PGSSLKEY), or put it in ~/.postgresql/postgresql.key.',
      });
    }
    checkKeyPermissions(keyFile, source);
    opts.key = readTlsFile(keyFile, 'sslkey', source);
    if (params.sslpassword) opts.passphrase = params.sslpassword;
    try {
      createPrivateKey({ key: opts.key, passphrase: params.sslpassword ?? '' });
    } catch {
      throw new ConfigError(
        `${source}: the private key sslkey=${keyFile} cannot be read${params.sslpassword ? ' with the given sslpassword' : ': it is encrypted or not a PEM key'}`,
        {
          hint: "Give the key's passphrase as sslpassword in the URL, or use an unencrypted key (chmod 0600).",
        },
      );
    }
  }
  // Server name indication, as libpq sends it (not for IP addresses).
  if (!/^[\d.]+$|:/.test(host)) opts.servername = host;

  const base = { mode, verifyCa, verifyHost, rootCert: system ? 'system' : rootCert, secrets };
  if (mode === 'prefer') return { ...base, first: opts, fallback: false };
  if (mode === 'allow') return { ...base, first: false, fallback: opts };
  return { ...base, first: opts };
}

function readTlsFile(file: string, key: string, source: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as { code?: string }).code;
    throw new ConfigError(
      `${source}: ${key}=${file} cannot be read (${code === 'ENOENT' ? 'no such file' : (code ?? 'error')})`,
      {
        hint: `Point ${key} at an existing PEM file readable by this user.`,
      },
    );
  }
}

/** libpq refuses a private key others can read: 0600 when owned by the user, 0640 when owned by root. */
function checkKeyPermissions(file: string, source: string): void {
  let st;
  try {
    st = statSync(file);
  } catch {
    return; // readTlsFile reports it.
  }
  const uid = process.getuid?.();
  const tooOpen = st.uid === 0 && uid !== 0 ? (st.mode & 0o037) !== 0 : (st.mode & 0o077) !== 0;
  if (tooOpen) {
    throw new ConfigError(
      `${source}: the private key file sslkey=${file} has group or world access (mode ${(st.mode & 0o777).toString(8)})`,
      {
        hint: `Run chmod 0600 ${file} (0640 when root owns it), as libpq requires.`,
      },
    );
  }
}

type TlsFailure = 'host' | 'ca' | 'refused' | 'other';

const CA_CODES = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_SIGNATURE_FAILURE',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'INVALID_CA',
]);

export function classifyTlsError(err: unknown): TlsFailure | undefined {
  const e = err as { code?: string; message?: string };
  const msg = String(e?.message ?? '');
  if (e?.code === 'ERR_TLS_CERT_ALTNAME_INVALID' || /does not match certificate's altnames/i.test(msg)) return 'host';
  if ((e?.code && CA_CODES.has(e.code)) || /self[- ]signed certificate|unable to verify|issuer certificate/i.test(msg))
    return 'ca';
  if (/does not support SSL/i.test(msg)) return 'refused';
  if (/SSL|TLS|certificate|bad decrypt|handshake/i.test(msg) || /^ERR_(SSL|TLS|OSSL)/.test(e?.code ?? ''))
    return 'other';
  return undefined;
}

/** Why a TLS connection failed, in words that name what was checked; no key material. */
export function describeTlsFailure(
  err: unknown,
  plan: TlsPlan,
  host: string,
): { what: string; hint: string } | undefined {
  const kind = classifyTlsError(err);
  const e = err as { code?: string; message?: string };
  const detail = String(e?.message ?? err).split('\n')[0]!;
  switch (kind) {
    case 'host':
      return {
        what: `TLS host name check failed: the server certificate is not issued for "${host}" (sslmode=verify-full; ${detail})`,
        hint: 'Connect with the host name the certificate names, or use sslmode=verify-ca to check the CA only.',
      };
    case 'ca':
      return {
        what: `TLS CA check failed: the server certificate is not signed by a CA in sslrootcert=${plan.rootCert ?? '?'} (sslmode=${plan.mode}; ${detail})`,
        hint: 'Point sslrootcert (or PGSSLROOTCERT) at the CA that signed the server certificate.',
      };
    case 'refused':
      return {
        what: `the server does not accept TLS connections, and sslmode=${plan.mode} requires one`,
        hint: 'Turn ssl on in the server, or use sslmode=prefer (or disable) for a server without TLS.',
      };
    case 'other':
      return {
        what: `the TLS connection failed (sslmode=${plan.mode}): ${/bad decrypt/i.test(detail) ? 'the client key could not be decrypted (wrong sslpassword?)' : detail}`,
        hint: "Check the client certificate and key (sslcert/sslkey/sslpassword) and the server's TLS settings.",
      };
    default:
      return undefined;
  }
}
