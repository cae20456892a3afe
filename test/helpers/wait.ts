// Waiting in tests for something another process or connection does: poll a probe until it
// answers. The timeout is a guard against a hang, never an assertion about speed.

export interface WaitOptions {
  /** Give up (and fail naming `what`) after this long. Default 30 s. */
  timeoutMs?: number;
  /** Treat a probe that throws as "not yet" (a server restarting, a table not there yet). */
  ignoreErrors?: boolean;
}

/** Poll `probe` every 50 ms until it returns something other than undefined. */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  opts: WaitOptions = {},
): Promise<T> {
  const end = Date.now() + (opts.timeoutMs ?? 30_000);
  for (;;) {
    const v = opts.ignoreErrors ? await probe().catch(() => undefined) : await probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
