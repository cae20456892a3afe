// dbopt migrate lint: arrives with the migrate safety work.
import { UsageError } from '../../errors.js';
import type { GlobalOptions } from '../context.js';

export async function runLintCommand(_opts: GlobalOptions, _files: string[]): Promise<void> {
  throw new UsageError('dbopt migrate lint is not available in this build');
}
