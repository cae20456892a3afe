// Every check of the load phase and of growth, in report order. docs/audit.md has a section per code.
import { clientBound } from './clientBound.js';
import { growsWithData } from './growsWithData.js';
import { loadErrors } from './loadErrors.js';
import { loadOverBudget } from './loadOverBudget.js';
import { loadThroughputShort } from './loadThroughputShort.js';
import type { LoadCheck } from './types.js';

export const LOAD_CHECKS: LoadCheck[] = [loadOverBudget, loadErrors, loadThroughputShort, clientBound, growsWithData];

export type { LoadCheck, LoadCheckInput, LoadOutcome, QueryBudget } from './types.js';
