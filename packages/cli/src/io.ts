/** CommandIo is what a command may touch, so tests can run commands in-process. */
export interface CommandIo {
  stdout(text: string): void;
  stderr(text: string): void;
  readFile(path: string): string;
  writeFile(path: string, data: string): void;
}

/** UsageError is a bad flag or value: the command prints its message on one line and exits with code 2. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}
