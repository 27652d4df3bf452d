/**
 * AssertionError reports a broken invariant: the program is in a state that its
 * own rules forbid. A replica that throws it stops; it does not guess.
 */
export class AssertionError extends Error {
  override readonly name = "AssertionError";
}

/**
 * assert throws an {@link AssertionError} when `condition` is false. Use it for
 * programmer errors only; expected conditions are typed results.
 */
export function assert(condition: unknown, message: string | (() => string)): asserts condition {
  if (!condition) {
    throw new AssertionError(typeof message === "string" ? message : message());
  }
}

/**
 * ConfigError reports invalid input at an edge (a config, a flag, a file): it
 * names the field and the value, and nothing has been changed.
 */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
  /** field is the dotted path of the offending field, or "" for the whole input. */
  readonly field: string;
  constructor(field: string, message: string) {
    super(field === "" ? message : `${field}: ${message}`);
    this.field = field;
  }
}

/**
 * CorruptionError reports durable or wire data that fails its checks (a bad
 * CRC in the middle of a log, an undecodable frame). Recovery refuses it rather
 * than silently losing or inventing data.
 */
export class CorruptionError extends Error {
  override readonly name = "CorruptionError";
}

/** unreachable marks the end of an exhaustive switch over a discriminated union. */
export function unreachable(value: never): never {
  throw new AssertionError(`unreachable: ${JSON.stringify(value)}`);
}
