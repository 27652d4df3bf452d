/** CommandIo is what a command may touch, so tests can run commands in-process. */
export interface CommandIo {
  stdout(text: string): void;
  stderr(text: string): void;
  readFile(path: string): string;
  writeFile(path: string, data: string): void;
  /** stderrIsTty: progress may rewrite its line in place (a terminal) rather than print a line per step (a log). */
  readonly stderrIsTty?: boolean;
}

/** UsageError is a bad flag or value: the command prints its message on one line and exits with code 2. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

/** usageExit prints a usage error on one line and returns exit code 2; any other error is a bug and is thrown on. */
export function usageExit(error: unknown, io: CommandIo): number {
  if (error instanceof UsageError) {
    io.stderr(`concord: ${error.message}\n`);
    return 2;
  }
  throw error;
}

/**
 * writeOutputFile writes a file a flag named (`--history`, `--html`,
 * `--trace-out`); a path that cannot be written (no such directory, no
 * permission) is the user's to fix, so it becomes a usage error naming the
 * flag and the path: one line and exit code 2, never a stack trace or exit
 * code 1, which means a broken guarantee.
 */
export function writeOutputFile(io: CommandIo, flag: string, path: string, data: string): void {
  try {
    io.writeFile(path, data);
  } catch (error) {
    throw new UsageError(`--${flag}: cannot write ${path}: ${error instanceof Error ? error.message : String(error)}`);
  }
}
