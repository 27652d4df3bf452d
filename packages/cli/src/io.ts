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
