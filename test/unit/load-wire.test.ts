// The wire client's pure parts: SCRAM-SHA-256 against RFC 7677's worked example, the Sync
// group a request carries through a transaction-mode pooler, and what the client does with
// crafted bytes no real server sends (a local socket speaking them).
import { describe, expect, it } from 'vitest';
import net from 'node:net';
import { Scram, WireConnection, type WireError } from '../../src/audit/load/wire.js';
import { pooledSteps } from '../../src/audit/load/connections.js';

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

/** One backend message: type, length, body. */
function msg(type: string, body: Buffer = Buffer.alloc(0)): Buffer {
  const head = Buffer.alloc(5);
  head.write(type, 0, 'latin1');
  head.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([head, body]);
}

function int32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
}

const authOk = msg('R', int32(0));
const ready = msg('Z', Buffer.from('I'));

/**
 * A socket that answers the client's n-th write (the startup packet first) with `script[n]`
 * of what the client wrote: crafted bytes no real server sends.
 */
async function fakeServer(script: ((written: Buffer) => Buffer)[]): Promise<{ port: number; close: () => void }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    let n = 0;
    s.on('data', (d) => {
      const answer = script[n++];
      if (answer) s.write(answer(d));
    });
    s.on('error', () => undefined);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () => {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}

function connectTo(port: number, password?: string): Promise<WireConnection> {
  return WireConnection.connect({
    host: '127.0.0.1',
    port,
    user: 'u',
    database: 'd',
    password,
    ssl: false,
    params: {},
    connectTimeoutMs: 20_000,
    display: `u@127.0.0.1:${port}/d`,
  });
}

function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  return p.then(
    () => undefined,
    (e: unknown) => (e as WireError).code,
  );
}

describe('bytes that are no PostgreSQL protocol', () => {
  it('a message length under 4 fails the connect with 08P01 (never a loop)', async () => {
    const fake = await fakeServer([() => Buffer.concat([msg('R', int32(0)).subarray(0, 1), int32(2), ready])]);
    try {
      expect(await codeOf(connectTo(fake.port))).toBe('08P01');
    } finally {
      fake.close();
    }
  });

  it('an error field without its NUL is read to the end; a length of 0xFFFFFFFF ends the connection with 08P01', async () => {
    const fake = await fakeServer([
      () => Buffer.concat([authOk, ready]),
      () => Buffer.concat([msg('E', Buffer.from('SERROR')), ready]),
      () => Buffer.from([0x43, 0xff, 0xff, 0xff, 0xff, 0, 0, 0]),
    ]);
    const c = await connectTo(fake.port);
    try {
      const query = (): Promise<WireError | undefined> =>
        new Promise((resolve) => {
          c.query('SELECT 1', [], (err) => resolve(err));
          c.flush();
        });
      const first = await query();
      expect(first?.severity).toBe('ERROR');
      expect(first?.code).toBe('XX000');
      expect((await query())?.code).toBe('08P01');
      expect(c.isClosed).toBe(true);
    } finally {
      fake.close();
    }
  });
});

describe('SCRAM-SHA-256 against a server that does not prove itself', () => {
  const sasl = msg('R', Buffer.concat([int32(10), Buffer.from('SCRAM-SHA-256\0\0')]));
  const serverFirst =
    (iterations: number) =>
    (written: Buffer): Buffer => {
      const nonce = /r=([^,\0]+)/.exec(written.toString('latin1'))![1];
      return msg(
        'R',
        Buffer.concat([int32(11), Buffer.from(`r=${nonce}xyz,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=${iterations}`)]),
      );
    };

  it('refuses AuthenticationOk without a verified server-final (28000)', async () => {
    const fake = await fakeServer([() => sasl, serverFirst(4096), () => Buffer.concat([authOk, ready])]);
    try {
      expect(await codeOf(connectTo(fake.port, 'pencil'))).toBe('28000');
    } finally {
      fake.close();
    }
  });

  it('refuses an iteration count that would freeze the process (28000)', async () => {
    const fake = await fakeServer([() => sasl, serverFirst(50_000_000)]);
    try {
      expect(await codeOf(connectTo(fake.port, 'pencil'))).toBe('28000');
    } finally {
      fake.close();
    }
  });
});

describe('TLS negotiation', () => {
  it('a server that closes instead of answering the SSLRequest fails at once with 08006', async () => {
    const server = net.createServer((s) => s.once('data', () => s.destroy()));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as net.AddressInfo).port;
    try {
      const p = WireConnection.connect({
        host: '127.0.0.1',
        port,
        user: 'u',
        database: 'd',
        ssl: {},
        params: {},
        connectTimeoutMs: 60_000,
        display: `u@127.0.0.1:${port}/d`,
      });
      expect(await codeOf(p)).toBe('08006');
    } finally {
      server.close();
    }
  });
});
