import { describe, expect, it } from 'vitest';
import { resolveConnection, targetFromUrl, connectionFailure } from '../../src/db/connection.js';
import { redact } from '../../src/redact.js';
import { ConfigError } from '../../src/errors.js';

const NASTY = 'p@ss:w/o#rd?&%=x y';

describe('connections', () => {
  it('follows flag > DATABASE_URL > config > PG* order', () => {
    const env = { DATABASE_URL: 'postgres://envuser@envhost:5433/envdb', PGHOST: 'pghost' };
    expect(resolveConnection({ flagUrl: 'postgres://flag@h/db', configUrl: 'postgres://cfg@h/db', env }).display).toBe(
      'flag@h:5432/db',
    );
    expect(resolveConnection({ configUrl: 'postgres://cfg@h/db', env }).display).toBe('envuser@envhost:5433/envdb');
    expect(resolveConnection({ configUrl: 'postgres://cfg@h/db', env: { PGHOST: 'x' } }).display).toBe('cfg@h:5432/db');
    expect(resolveConnection({ env: { PGHOST: 'pghost', PGUSER: 'u', PGDATABASE: 'd' } }).display).toBe(
      'u@pghost:5432/d',
    );
  });

  it('refuses to guess when nothing is configured', () => {
    expect(() => resolveConnection({ env: {} })).toThrow(ConfigError);
  });

  it('tags every connection application_name=dbopt', () => {
    expect(targetFromUrl('postgres://u@h/d', 'test').config.application_name).toBe('dbopt');
  });

  it('never shows a password with URL-special characters', () => {
    const url = `postgres://app:${encodeURIComponent(NASTY)}@db.internal:5432/app`;
    const t = targetFromUrl(url, 'DATABASE_URL');
    expect(t.config.password).toBe(NASTY);
    expect(t.display).toBe('app@db.internal:5432/app');
    const text = `failed for ${url} with ${NASTY}`;
    const out = redact(text, t.secrets);
    expect(out).not.toContain(NASTY);
    expect(out).not.toContain(encodeURIComponent(NASTY));
    const err = connectionFailure(
      Object.assign(new Error(`password authentication failed ${NASTY}`), { code: '28P01' }),
      t,
    );
    expect(err.exitCode).toBe(3);
    expect(err.message).toContain('app@db.internal:5432/app');
    expect(err.message).not.toContain(NASTY);
  });

  it('rejects a URL that is not postgres://', () => {
    expect(() => targetFromUrl('mysql://x@y/z', '--database-url')).toThrow(/postgres:\/\//);
  });
});
