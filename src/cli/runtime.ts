// Process-level concerns of the CLI: the one place errors become exit codes, signal
// handling (abort in-flight work, clean up, then exit 130/143), and stderr logging.
import { DbOptError, ExitCode, FindingsError, InterruptedError } from '../errors.js';
import { redact, redactUrls } from '../redact.js';
import type { GlobalOptions } from './context.js';

export const EXIT_CODE_HELP = `Exit codes:
  0    clean
  1    findings (audit regression, lint violation, failed migration or refresh)
  2    usage or config error
  3    cannot connect or authenticate, lost the connection, or the server stopped answering
  4    busy: another dbopt holds the lock
  130  stopped by SIGINT, after cleaning up
  143  stopped by SIGTERM, after cleaning up (a --watch process exits 0 once stopped)`;

const controller = new AbortController();
/** Aborted on the first SIGINT/SIGTERM; library calls receive it to cancel server work. */
export const stopSignal: AbortSignal = controller.signal;
let received: 'SIGINT' | 'SIGTERM' | undefined;
/** Secrets (passwords) to scrub from anything printed, registered once a target is known. */
export const secrets: string[] = [];

export function receivedSignal(): 'SIGINT' | 'SIGTERM' | undefined {
  return received;
}

export function installSignalHandlers(): void {
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.on(sig, () => {
      if (received) {
        // A second signal: the user insists.
        process.exit(sig === 'SIGINT' ? ExitCode.sigint : ExitCode.sigterm);
      }
      received = sig;
      controller.abort(new InterruptedError(sig));
      // Work in flight cleans up and rejects with InterruptedError; if nothing is in flight,
      // leave after a grace period anyway.
      setTimeout(() => process.exit(sig === 'SIGINT' ? ExitCode.sigint : ExitCode.sigterm), 15_000).unref();
    });
  }
}

/**
 * dbopt's own lines hold no password (targets print as user@host:port/db, and text from the
 * driver or server is redacted where it is embedded); a URL with credentials is still masked.
 * Replacing every occurrence of the password here would mangle text and, for a password that
 * is a common word, reveal it by the holes it leaves.
 */
export function writeErr(line: string): void {
  process.stderr.write(redactUrls(line) + '\n');
}

/** The code a failure's block shows, from what failed (the library's messages name it first). */
const FAILURE_CODES: [RegExp, string][] = [
  [/^migrate lint found/, 'lint'],
  [/could not take its lock/, 'lock-timeout'],
  [/^migration /, 'migration-failed'],
  [/^(index|could not drop the INVALID)/, 'index-build'],
  [/^seed file/, 'seed-failed'],
];

export function failureCode(message: string): string {
  return FAILURE_CODES.find(([re]) => re.test(message))?.[1] ?? 'failed';
}

/** Loaded only on this path, so `dbopt --help` does not pay for the connection module. */
async function isConnectionFailure(err: unknown): Promise<boolean> {
  const { isConnectionError, isConnectionLost } = await import('../db/connection.js');
  return isConnectionLost(err) || isConnectionError(err);
}

export async function handleFatal(err: unknown, opts: GlobalOptions): Promise<never> {
  const e = err as { code?: string; exitCode?: number; message?: string };
  // commander's own exits: help, version, usage mistakes.
  if (typeof e?.code === 'string' && e.code.startsWith('commander.')) {
    if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version') process.exit(0);
    // 'commander.help' with a non-zero code: help shown because no command was given.
    process.exit(e.code === 'commander.help' && e.exitCode === 0 ? 0 : ExitCode.usage);
  }
  let exitCode: number = ExitCode.findings;
  const lines: string[] = [];
  if (err instanceof DbOptError) {
    exitCode = err.exitCode;
    if (err instanceof InterruptedError) {
      lines.push(`dbopt: ${err.message}; cleaned up.`);
    } else if (err instanceof FindingsError) {
      // A failed migration, refresh or seed reads like the findings: error[code], details, help.
      lines.push(`error[${failureCode(err.message)}]: ${err.message}`);
      for (const d of err.details) lines.push(`  ${d}`);
      if (err.hint)
        lines.push(
          `  help: ${/^[A-Z][a-z]/.test(err.hint) ? err.hint[0]!.toLowerCase() + err.hint.slice(1) : err.hint}`,
        );
    } else {
      lines.push(`error: ${err.message}`);
      for (const d of err.details) lines.push(`  ${d}`);
      if (err.hint) lines.push(`hint: ${err.hint}`);
    }
  } else if (received) {
    exitCode = received === 'SIGINT' ? ExitCode.sigint : ExitCode.sigterm;
    lines.push(`dbopt: stopped by ${received}; cleaned up.`);
  } else if (await isConnectionFailure(err)) {
    exitCode = ExitCode.connection;
    lines.push(`error: lost the connection to the server: ${redact(e?.message ?? String(err), secrets)}`);
    lines.push('hint: Check that the server is up and reachable, then run the command again.');
  } else {
    // Text from outside dbopt: scrub the password wherever it might appear.
    lines.push(`error: ${redact(e?.message ?? String(err), secrets)}`);
    if (opts?.verbose && (err as Error)?.stack) lines.push(String((err as Error).stack));
    else lines.push('  (this is a bug in dbopt if the message does not say what to fix; --verbose shows the stack)');
  }
  const useColor = process.stderr.isTTY && !process.env.NO_COLOR && opts?.color !== false;
  for (const [i, l] of lines.entries()) {
    const text = useColor && i === 0 ? `\u001b[31m${l}\u001b[39m` : l;
    writeErr(text);
  }
  process.exit(exitCode);
}
