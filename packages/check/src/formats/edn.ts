/**
 * EdnKeyword is an EDN keyword such as `:invoke` (name without the colon).
 */
export class EdnKeyword {
  constructor(readonly name: string) {}
  toString(): string {
    return `:${this.name}`;
  }
}

/** EdnSymbol is an EDN symbol such as `foo` (not nil, true or false). */
export class EdnSymbol {
  constructor(readonly name: string) {}
  toString(): string {
    return this.name;
  }
}

/** EdnMap is an EDN map, kept as entries in file order, with the line it starts on. */
export class EdnMap {
  constructor(
    readonly entries: readonly (readonly [EdnValue, EdnValue])[],
    readonly line: number,
  ) {}

  /** get returns the value under the keyword `:name`, or undefined when absent. */
  get(name: string): EdnValue | undefined {
    for (const [key, value] of this.entries) if (key instanceof EdnKeyword && key.name === name) return value;
    return undefined;
  }
}

/** EdnTagged is a tagged element such as `#inst "2024-01-01"`. */
export class EdnTagged {
  constructor(
    readonly tag: string,
    readonly value: EdnValue,
  ) {}
}

/** EdnValue is a value read from EDN. Vectors, lists and sets are arrays; big integers are bigints. */
export type EdnValue = null | boolean | number | bigint | string | EdnKeyword | EdnSymbol | EdnMap | EdnTagged | readonly EdnValue[];

/** EdnSyntaxError reports malformed EDN with the line it was found on. */
export class EdnSyntaxError extends Error {
  override readonly name = "EdnSyntaxError";
  constructor(
    readonly line: number,
    readonly reason: string,
  ) {
    super(`line ${line}: ${reason}`);
  }
}

/** EdnForm is one top-level form and the line it starts on. */
export interface EdnForm {
  readonly value: EdnValue;
  readonly line: number;
}

const delimiters = new Set(["(", ")", "[", "]", "{", "}", '"', ";"]);
const characterNames: ReadonlyMap<string, string> = new Map([
  ["newline", "\n"],
  ["space", " "],
  ["tab", "\t"],
  ["return", "\r"],
  ["formfeed", "\f"],
  ["backspace", "\b"],
]);

/**
 * readEdn reads every top-level form of an EDN text (edn-format.org): nil,
 * booleans, numbers, strings, characters, keywords, symbols, lists, vectors,
 * maps, sets, tagged elements (the tag is kept, records such as
 * `#jepsen.history.Op{...}` read as maps), `#_` discards, metadata and `;`
 * comments. Throws an {@link EdnSyntaxError} naming the line.
 */
export function readEdn(text: string): EdnForm[] {
  const reader = new EdnReader(text);
  const forms: EdnForm[] = [];
  for (;;) {
    reader.skipSpace();
    if (reader.atEnd()) return forms;
    const line = reader.line;
    const value = reader.read();
    if (value !== discarded) forms.push({ value, line });
  }
}

const discarded = Symbol("discarded");

class EdnReader {
  private position = 0;
  line = 1;

  constructor(private readonly text: string) {}

  atEnd(): boolean {
    return this.position >= this.text.length;
  }

  skipSpace(): void {
    const text = this.text;
    while (this.position < text.length) {
      const c = text[this.position]!;
      if (c === "\n") {
        this.line++;
        this.position++;
      } else if (c === " " || c === "\t" || c === "\r" || c === ",") {
        this.position++;
      } else if (c === ";") {
        while (this.position < text.length && text[this.position] !== "\n") this.position++;
      } else {
        return;
      }
    }
  }

  fail(reason: string, line = this.line): never {
    throw new EdnSyntaxError(line, reason);
  }

  // Reads one form; `discarded` for a `#_` form.
  read(): EdnValue | typeof discarded {
    this.skipSpace();
    if (this.atEnd()) this.fail("unexpected end of input");
    const c = this.text[this.position]!;
    switch (c) {
      case "(":
      case "[":
        this.position++;
        return this.readSequence(c === "(" ? ")" : "]");
      case "{":
        return this.readMap();
      case ")":
      case "]":
      case "}":
        return this.fail(`unexpected ${c}`);
      case '"':
        return this.readString();
      case "\\":
        return this.readCharacter();
      case "#":
        return this.readDispatch();
      case "^": {
        this.position++;
        this.readValue("metadata");
        return this.read();
      }
      case ":":
        this.position++;
        return new EdnKeyword(this.readToken("keyword"));
      default:
        return this.readAtom();
    }
  }

  private readValue(what: string): EdnValue {
    for (;;) {
      this.skipSpace();
      if (this.atEnd()) this.fail(`unexpected end of input in ${what}`);
      const value = this.read();
      if (value !== discarded) return value;
    }
  }

  private readSequence(close: string): EdnValue[] {
    const startLine = this.line;
    const items: EdnValue[] = [];
    for (;;) {
      this.skipSpace();
      if (this.atEnd()) this.fail(`unclosed ${close === ")" ? "(" : close === "]" ? "[" : "{"} opened on line ${startLine}`);
      if (this.text[this.position] === close) {
        this.position++;
        return items;
      }
      const value = this.read();
      if (value !== discarded) items.push(value);
    }
  }

  private readMap(): EdnMap {
    const line = this.line;
    this.position++;
    const items = this.readSequence("}");
    if (items.length % 2 !== 0) this.fail(`a map needs an even number of forms, the one opened here has ${items.length}`, line);
    const entries: [EdnValue, EdnValue][] = [];
    for (let i = 0; i < items.length; i += 2) entries.push([items[i]!, items[i + 1]!]);
    return new EdnMap(entries, line);
  }

  private readString(): string {
    const startLine = this.line;
    const text = this.text;
    this.position++;
    let out = "";
    for (;;) {
      if (this.position >= text.length) this.fail(`unterminated string starting on line ${startLine}`);
      const c = text[this.position++]!;
      if (c === '"') return out;
      if (c === "\n") this.line++;
      if (c !== "\\") {
        out += c;
        continue;
      }
      const escaped = text[this.position++];
      switch (escaped) {
        case "n":
          out += "\n";
          break;
        case "t":
          out += "\t";
          break;
        case "r":
          out += "\r";
          break;
        case '"':
        case "\\":
          out += escaped;
          break;
        case "u": {
          const hex = text.slice(this.position, this.position + 4);
          if (!/^[0-9a-fA-F]{4}$/.test(hex)) this.fail(`bad unicode escape \\u${hex}`);
          out += String.fromCharCode(parseInt(hex, 16));
          this.position += 4;
          break;
        }
        default:
          this.fail(`unknown string escape \\${escaped ?? ""}`);
      }
    }
  }

  private readCharacter(): string {
    this.position++;
    const start = this.position;
    this.position++;
    while (this.position < this.text.length && !isBoundary(this.text[this.position]!)) this.position++;
    const token = this.text.slice(start, this.position);
    if (token.length === 1) return token;
    const named = characterNames.get(token);
    if (named !== undefined) return named;
    if (/^u[0-9a-fA-F]{4}$/.test(token)) return String.fromCharCode(parseInt(token.slice(1), 16));
    return this.fail(`unknown character \\${token}`);
  }

  private readDispatch(): EdnValue | typeof discarded {
    this.position++;
    const c = this.text[this.position];
    if (c === "_") {
      this.position++;
      this.readValue("#_");
      return discarded;
    }
    if (c === "{") {
      this.position++;
      return this.readSequence("}");
    }
    const tag = this.readToken("tag");
    return new EdnTagged(tag, this.readValue(`#${tag}`));
  }

  private readToken(what: string): string {
    const start = this.position;
    while (this.position < this.text.length && !isBoundary(this.text[this.position]!)) this.position++;
    if (this.position === start) this.fail(`empty ${what}`);
    return this.text.slice(start, this.position);
  }

  private readAtom(): EdnValue {
    const token = this.readToken("token");
    if (token === "nil") return null;
    if (token === "true") return true;
    if (token === "false") return false;
    if (/^[+-]?\d/.test(token)) return this.parseNumber(token);
    return new EdnSymbol(token);
  }

  private parseNumber(token: string): number | bigint {
    const integer = /^([+-]?\d+)N?$/.exec(token);
    if (integer !== null) {
      const value = Number(integer[1]);
      return Number.isSafeInteger(value) ? value : BigInt(integer[1]!);
    }
    if (/^[+-]?\d+(\.\d*)?([eE][+-]?\d+)?M?$/.test(token)) return Number(token.replace(/M$/, ""));
    const ratio = /^([+-]?\d+)\/(\d+)$/.exec(token);
    if (ratio !== null) return Number(ratio[1]) / Number(ratio[2]);
    return this.fail(`bad number ${token}`);
  }
}

function isBoundary(c: string): boolean {
  return c === " " || c === "\n" || c === "\t" || c === "\r" || c === "," || delimiters.has(c);
}
