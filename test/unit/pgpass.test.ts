// ~/.pgpass as libpq reads it: wildcards, escapes, first match wins, too-open files ignored.
import { afterAll, describe, expect, it } from 'vitest';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pgpassPassword } from '../../src/db/pgpass.js';

const dir = mkdtempSync(path.join(tmpdir(), 'dbopt-pgpass-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(text: string, mode = 0o600): NodeJS.ProcessEnv {
  const f = path.join(dir, `p${Math.random().toString(36).slice(2)}`);
  writeFileSync(f, text);
  chmodSync(f, mode);
  return { PGPASSFILE: f };
}

const want = { host: 'db.internal', port: 5432, database: 'app', user: 'app' };

describe('pgpassPassword', () => {
  it('matches fields exactly or by *, first line wins, and unescapes \\: and \\\\', () => {
    const env = file(
      ['# c', 'db.internal:5433:app:app:wrong-port', 'db.internal:5432:*:app:pa\\:ss\\\\w:rd', '*:*:*:*:fallback'].join(
        '\n',
      ),
    );
    expect(pgpassPassword(want, env)).toBe('pa:ss\\w:rd');
    expect(pgpassPassword({ ...want, user: 'other' }, env)).toBe('fallback');
  });

  it('reads a Unix-socket host as localhost', () => {
    expect(pgpassPassword({ ...want, host: '/var/run/postgresql' }, file('localhost:5432:app:app:sock\n'))).toBe(
      'sock',
    );
  });

  it('ignores a file group or others can read, and a missing file', () => {
    expect(pgpassPassword(want, file('*:*:*:*:open\n', 0o644))).toBeUndefined();
    expect(pgpassPassword(want, { PGPASSFILE: path.join(dir, 'none') })).toBeUndefined();
  });
});
