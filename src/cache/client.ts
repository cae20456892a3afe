// The only door to Redis for dbopt report and dbopt audit: a connection that refuses, in code
// and before anything is sent, every command outside a short list of reads. The Redis client
// library (@redis/client) is imported here lazily, so a config without `cache` never loads it.
// The handshake sends only AUTH and SELECT (RESP2, no CLIENT SETINFO, no maintenance
// notifications). Every command has a deadline; a server that stops answering is an exit 3.
import { ConnectionError, DbOptError } from '../errors.js';
import { redactRedisUrl } from '../redact.js';
import type { RedisTarget } from './config.js';

/** Command words dbopt may send outside `dbopt seed --cache` (two words for subcommands). */
export const READ_COMMANDS: ReadonlySet<string> = new Set([
  'SCAN',
  'RANDOMKEY',
  'TYPE',
  'PTTL',
  'MEMORY USAGE',
  'INFO',
  'CONFIG GET',
  'DBSIZE',
  'PING',
]);

export type Reply = string | number | null | Reply[];

/** The command name as the allow-list spells it: "MEMORY USAGE", "SCAN". */
export function commandName(args: readonly string[]): string {
  const first = (args[0] ?? '').toUpperCase();
  return first === 'MEMORY' || first === 'CONFIG' ? `${first} ${(args[1] ?? '').toUpperCase()}` : first;
}

/** A refused command is a bug in dbopt, never something to retry. */
export class RefusedCommandError extends DbOptError {
  constructor(name: string) {
    super(`refused to send ${name} to Redis: dbopt only reads from the cache tier (${[...READ_COMMANDS].join(', ')})`);
  }
}

export interface RedisReader {
  readonly target: RedisTarget;
  /** Send one allowed read; rejects with RefusedCommandError before sending anything else. */
  read(args: string[]): Promise<Reply>;
  /** Several reads in one round trip (node-redis pipelines commands issued in the same tick). */
  readMany(batch: string[][]): Promise<(Reply | Error)[]>;
  /** How many commands of each name this connection sent (for the tests and --verbose). */
  readonly sent: ReadonlyMap<string, number>;
  close(): Promise<void>;
}

interface RawClient {
  connect(): Promise<unknown>;
  sendCommand(args: string[]): Promise<unknown>;
  destroy(): void;
  close?(): Promise<void>;
  quit?(): Promise<unknown>;
  on(event: 'error', listener: (err: Error) => void): unknown;
}

/**
 * A raw connection for the one writer (`dbopt seed --cache`) and for the read-only wrapper.
 * Not exported from the package: callers outside src/cache/ get a RedisReader.
 */
export async function connectRaw(target: RedisTarget, timeoutMs: number): Promise<RawClient> {
  const { createClient } = await import('@redis/client');
  const client = createClient({
    url: target.url,
    RESP: 2,
    disableClientInfo: true,
    disableOfflineQueue: true,
    maintNotifications: 'disabled',
    socket: { connectTimeout: timeoutMs, reconnectStrategy: false },
  }) as unknown as RawClient;
  // Errors also arrive as rejected commands; without a listener node-redis would crash the process.
  client.on('error', () => undefined);
  try {
    await withDeadline(client.connect(), timeoutMs, target, () => client.destroy());
  } catch (err) {
    try {
      client.destroy();
    } catch {
      // already closed
    }
    throw redisFailure(err, target);
  }
  return client;
}

export async function openReader(
  target: RedisTarget,
  timeoutMs: number,
  sent = new Map<string, number>(),
): Promise<RedisReader> {
  const client = await connectRaw(target, timeoutMs);
  let closed = false;
  const send = (args: string[]): Promise<unknown> => {
    const name = commandName(args);
    if (!READ_COMMANDS.has(name)) return Promise.reject(new RefusedCommandError(name));
    sent.set(name, (sent.get(name) ?? 0) + 1);
    return client.sendCommand(args);
  };
  const fail = (err: unknown): never => {
    if (err instanceof DbOptError) throw err;
    throw redisFailure(err, target);
  };
  return {
    target,
    sent,
    read: async (args) => {
      try {
        return normalize(await withDeadline(send(args), timeoutMs, target, () => client.destroy()));
      } catch (err) {
        if (isReplyError(err)) throw err;
        return fail(err);
      }
    },
    readMany: async (batch) => {
      for (const args of batch) {
        if (!READ_COMMANDS.has(commandName(args))) throw new RefusedCommandError(commandName(args));
      }
      const settled = batch.map((args) =>
        send(args).then(normalize, (err: unknown) => {
          if (isReplyError(err)) return err as Error;
          throw err;
        }),
      );
      try {
        return await withDeadline(Promise.all(settled), timeoutMs, target, () => client.destroy());
      } catch (err) {
        return fail(err);
      }
    },
    close: async () => {
      if (closed) return;
      closed = true;
      try {
        if (client.close) await client.close();
        else await client.quit?.();
      } catch {
        try {
          client.destroy();
        } catch {
          // already gone
        }
      }
    },
  };
}

/** A reply the server sent (unknown command, NOPERM ...), as opposed to a lost connection. */
export function isReplyError(err: unknown): boolean {
  const name = (err as { constructor?: { name?: string } })?.constructor?.name ?? '';
  return (
    /^(SimpleError|BlobError|ErrorReply)$/.test(name) ||
    /^(ERR|NOPERM|WRONGTYPE|NOSCRIPT|BUSY|LOADING|MASTERDOWN|READONLY) /.test(String((err as Error)?.message))
  );
}

function normalize(reply: unknown): Reply {
  if (reply === null || reply === undefined) return null;
  if (typeof reply === 'number') return reply;
  if (typeof reply === 'string') return reply;
  if (Buffer.isBuffer(reply)) return reply.toString();
  if (Array.isArray(reply)) return reply.map(normalize);
  return String(reply);
}

function withDeadline<T>(p: Promise<T>, ms: number, target: RedisTarget, onTimeout: () => void): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      onTimeout();
      reject(
        new ConnectionError(`Redis at ${target.display} did not answer within ${ms} ms`, {
          hint: 'Check that the server is up and reachable (and not blocked by a long command), or raise cache.timeout.',
        }),
      );
    }, ms);
  });
  return Promise.race([p, deadline]).finally(() => clearTimeout(timer));
}

/** Turn a failure to reach or authenticate to Redis into exit 3, naming the server without its password. */
export function redisFailure(err: unknown, target: RedisTarget): DbOptError {
  if (err instanceof DbOptError) return err;
  const e = err as { code?: string; message?: string; errors?: { message?: string }[] };
  let raw = String(e?.message || e?.errors?.map((x) => x.message).join('; ') || e?.code || err);
  for (const s of target.secrets) if (s) raw = raw.split(s).join('***');
  raw = redactRedisUrl(raw);
  const auth = /WRONGPASS|NOAUTH|invalid password|invalid username-password|AUTH .*without any password/i.test(raw);
  return new ConnectionError(
    `${auth ? 'cannot authenticate to' : 'cannot connect to'} Redis at ${target.display} (from ${target.source}): ${raw}`,
    {
      hint: auth
        ? 'Check the user and password in cache.url (percent-encode special characters), or set DBOPT_CACHE_URL.'
        : 'Check that Redis is running and reachable at that address (rediss:// for TLS), or fix cache.url / DBOPT_CACHE_URL.',
      cause: err,
    },
  );
}
