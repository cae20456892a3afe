// The logger the library reports progress through; the CLI supplies one that writes to
// stderr (timestamped lines when not a TTY). The library itself never prints.

export interface Logger {
  info(message: string): void;
  warn(message: string): void;
  debug(message: string): void;
  /** True when progress may redraw one line in place. */
  isTTY?: boolean;
  /** One progress line (redrawn in place on a TTY, timestamped line elsewhere). */
  progress?(line: string): void;
  progressDone?(): void;
}

export const silentLogger: Logger = {
  info: () => undefined,
  warn: () => undefined,
  debug: () => undefined,
};
