// ~/.pgpass (or PGPASSFILE), read as libpq reads it: hostname:port:database:username:password,
// `*` matches anything, `\:` and `\\` escape, the first matching line wins, and a file that
// group or others can read is ignored. https://www.postgresql.org/docs/current/libpq-pgpass.html
import { readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';

export interface PgpassLookup {
  host: string;
  port: number;
  database: string;
  user: string;
}

export function pgpassFile(env: NodeJS.ProcessEnv, home: string = homedir()): string {
  return env.PGPASSFILE || path.join(home, '.pgpass');
}

/** The password for a connection from the pgpass file, or undefined (no file, no line, too open). */
export function pgpassPassword(
  want: PgpassLookup,
  env: NodeJS.ProcessEnv = process.env,
  home: string = homedir(),
): string | undefined {
  const file = pgpassFile(env, home);
  let text: string;
  try {
    const st = statSync(file);
    if (!st.isFile() || (st.mode & 0o077) !== 0) return undefined;
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  // libpq treats a Unix-socket host as "localhost".
  const host = want.host.startsWith('/') ? 'localhost' : want.host;
  for (const line of text.split(/\r?\n/)) {
    if (!line || line.startsWith('#')) continue;
    const fields = splitPgpassLine(line);
    if (fields.length < 5) continue;
    const [h, p, d, u] = fields as [string, string, string, string];
    const match = (field: string, value: string): boolean => field === '*' || field === value;
    if (match(h, host) && match(p, String(want.port)) && match(d, want.database) && match(u, want.user)) {
      return fields.slice(4).join(':');
    }
  }
  return undefined;
}

function splitPgpassLine(line: string): string[] {
  const fields: string[] = [];
  let cur = '';
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (c === '\\' && i + 1 < line.length) {
      cur += line[++i];
    } else if (c === ':' && fields.length < 4) {
      fields.push(cur);
      cur = '';
    } else {
      cur += c;
    }
  }
  fields.push(cur);
  return fields;
}
