// The wire client's pure parts: SCRAM-SHA-256 against RFC 7677's worked example, and the Sync
// group a request carries through a transaction-mode pooler.
import { describe, expect, it } from 'vitest';
import { Scram } from '../../src/load/wire.js';
import { pooledSteps } from '../../src/load/connections.js';

describe('SCRAM-SHA-256', () => {
  // https://www.rfc-editor.org/rfc/rfc7677#section-3
  const serverFirst = 'r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096';

  it('computes the client proof and checks the server signature of RFC 7677', () => {
    const s = new Scram('pencil', 'rOprNGfwEbeRWgbNEkqO', 'user');
    expect(s.clientFirst()).toBe('n,,n=user,r=rOprNGfwEbeRWgbNEkqO');
    expect(s.clientFinal(serverFirst)).toBe(
      'c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=',
    );
    expect(s.verify('v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=')).toBe(true);
    expect(s.verify('v=AAAATRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=')).toBe(false);
  });

  it('refuses a server nonce that does not extend its own', () => {
    const s = new Scram('pencil', 'mine', 'user');
    s.clientFirst();
    expect(() => s.clientFinal('r=theirs,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096')).toThrow(/invalid first message/);
  });
});

describe('a request through a transaction-mode pooler', () => {
  it('opens its own read-only transaction with its limits, and rolls back an allow-writes one', () => {
    const limits = { statementTimeoutMs: 2500.4, lockTimeoutMs: 1000 };
    expect(pooledSteps('SELECT $1', ['7'], limits).map((s) => s[0])).toEqual([
      'BEGIN READ ONLY',
      'SET LOCAL statement_timeout = 2500',
      'SET LOCAL lock_timeout = 1000',
      'SELECT $1',
      'COMMIT',
    ]);
    const write = pooledSteps('UPDATE t SET x = 1', [], limits, true);
    expect(write[0]![0]).toBe('BEGIN READ WRITE');
    expect(write[write.length - 1]![0]).toBe('ROLLBACK');
  });
});
