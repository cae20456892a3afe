// Typed errors that carry the process exit code of PRODUCT.md's contract.
// The library throws them; only handleFatal (src/cli/runtime.ts) turns them into an exit.

export const ExitCode = {
  ok: 0,
  findings: 1,
  usage: 2,
  connection: 3,
  busy: 4,
  sigint: 130,
  sigterm: 143,
} as const;

export class DbOptError extends Error {
  readonly exitCode: number;
  /** One imperative line telling the user what to do next. */
  readonly hint?: string;
  /** Further lines shown under the message (e.g. every config problem). */
  readonly details: string[];

  constructor(message: string, opts: { exitCode?: number; hint?: string; details?: string[]; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = new.target.name;
    this.exitCode = opts.exitCode ?? ExitCode.findings;
    this.hint = opts.hint;
    this.details = opts.details ?? [];
  }
}

/** Bad flags, bad config, bad input files: exit 2. */
export class UsageError extends DbOptError {
  constructor(message: string, opts: { hint?: string; details?: string[]; cause?: unknown } = {}) {
    super(message, { ...opts, exitCode: ExitCode.usage });
  }
}

export class ConfigError extends UsageError {}

/** Cannot connect or authenticate, or lost the connection: exit 3. */
export class ConnectionError extends DbOptError {
  constructor(message: string, opts: { hint?: string; details?: string[]; cause?: unknown } = {}) {
    super(message, { ...opts, exitCode: ExitCode.connection });
  }
}

/** Another dbopt holds the lock: exit 4. */
export class BusyError extends DbOptError {
  constructor(message: string, opts: { hint?: string; details?: string[]; cause?: unknown } = {}) {
    super(message, { ...opts, exitCode: ExitCode.busy });
  }
}

/** The work ran and found problems (failed migration, failed refresh, audit regression): exit 1. */
export class FindingsError extends DbOptError {
  constructor(message: string, opts: { hint?: string; details?: string[]; cause?: unknown } = {}) {
    super(message, { ...opts, exitCode: ExitCode.findings });
  }
}

/** The process was asked to stop (SIGINT/SIGTERM) and has cleaned up. */
export class InterruptedError extends DbOptError {
  constructor(signal: 'SIGINT' | 'SIGTERM') {
    super(`stopped by ${signal}`, { exitCode: signal === 'SIGINT' ? ExitCode.sigint : ExitCode.sigterm });
  }
}
