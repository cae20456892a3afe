// The server's version, the first fact every report and baseline records.
import type { Client } from 'pg';

export interface ServerInfo {
  version: string;
  versionNum: number;
  major: number;
}

export async function serverInfo(client: Client): Promise<ServerInfo> {
  const { rows } = await client.query<{ version: string; num: string }>(
    `SELECT current_setting('server_version') AS version,
            current_setting('server_version_num') AS num`,
  );
  const num = Number(rows[0]!.num);
  return { version: rows[0]!.version.split(' ')[0]!, versionNum: num, major: Math.floor(num / 10000) };
}
