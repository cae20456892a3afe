// dbopt audit: arrives with its own issue.
import { UsageError } from '../../errors.js';
import type { GlobalOptions } from '../context.js';

export async function runAuditCommand(_opts: GlobalOptions, _args: string[] = []): Promise<void> {
  throw new UsageError('dbopt audit is not available in this build');
}
