// dbopt refresh: arrives with its own issue.
import { UsageError } from '../../errors.js';
import type { GlobalOptions } from '../context.js';

export async function runRefreshCommand(_opts: GlobalOptions, _args: string[] = []): Promise<void> {
  throw new UsageError('dbopt refresh is not available in this build');
}
