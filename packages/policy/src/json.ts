/**
 * A strict JSON reader for policy documents. `JSON.parse` would do for well-formed input, but it keeps the last of
 * two members with one name (so a second `"Effect"` could hide behind the first a reviewer reads), builds plain
 * objects whose `__proto__` member is special, and recurses without bound. This reader refuses duplicate names,
 * keeps members in a `Map`, stops at {@link MAX_DEPTH}, and counts the whitespace between tokens, which is what
 * AWS leaves out when it measures a policy's size.
 */
import { malformed, POLICY_MESSAGES } from './errors.ts';

/** A JSON value: objects are `Map`s of their members in document order. */
export type JsonValue = string | number | boolean | null | JsonValue[] | JsonObject;
/** A JSON object. */
export type JsonObject = Map<string, JsonValue>;

/** Deepest nesting accepted. A policy nests six deep (document, Statement, statement, Condition, operator, values). */
export const MAX_DEPTH = 16;

/** A parsed document and the number of whitespace characters between its tokens. */
export interface JsonDocument {
  value: JsonValue;
  whitespace: number;
}

// Sticky patterns: each matches at the reader's position only. The string pattern's alternatives are disjoint, so
// it cannot backtrack; the matched text is then decoded by JSON.parse, which agrees with it on what a string is.
const STRING = /"(?:[^"\\\u0000-\u001f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"/y;
const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const SPACE = /[ \t\n\r]*/y;

/** Parses `text` as one JSON value; throws POLICY_MALFORMED ("This policy contains invalid Json") otherwise. */
export function parseJson(text: string): JsonDocument {
  const reader = new Reader(text);
  const value = reader.value(0);
  reader.space();
  if (reader.pos !== text.length) throw invalid();
  return { value, whitespace: reader.whitespace };
}

function invalid() {
  return malformed(POLICY_MESSAGES.invalidJson);
}

class Reader {
  pos = 0;
  whitespace = 0;

  constructor(readonly text: string) {}

  space(): void {
    SPACE.lastIndex = this.pos;
    SPACE.exec(this.text);
    this.whitespace += SPACE.lastIndex - this.pos;
    this.pos = SPACE.lastIndex;
  }

  value(depth: number): JsonValue {
    if (depth > MAX_DEPTH) throw invalid();
    this.space();
    const c = this.text[this.pos];
    if (c === '{') return this.object(depth);
    if (c === '[') return this.array(depth);
    if (c === '"') return this.string();
    for (const [word, value] of WORDS) {
      if (this.text.startsWith(word, this.pos)) {
        this.pos += word.length;
        return value;
      }
    }
    return this.number();
  }

  string(): string {
    STRING.lastIndex = this.pos;
    const match = STRING.exec(this.text);
    if (match === null) throw invalid();
    this.pos = STRING.lastIndex;
    return JSON.parse(match[0]) as string;
  }

  number(): number {
    NUMBER.lastIndex = this.pos;
    const match = NUMBER.exec(this.text);
    if (match === null) throw invalid();
    this.pos = NUMBER.lastIndex;
    return Number(match[0]);
  }

  object(depth: number): JsonObject {
    const members: JsonObject = new Map();
    this.pos++;
    this.space();
    if (this.text[this.pos] === '}') {
      this.pos++;
      return members;
    }
    for (;;) {
      this.space();
      if (this.text[this.pos] !== '"') throw invalid();
      const name = this.string();
      this.space();
      if (this.text[this.pos] !== ':') throw invalid();
      this.pos++;
      if (members.has(name)) throw invalid();
      members.set(name, this.value(depth + 1));
      if (this.separator('}')) return members;
    }
  }

  array(depth: number): JsonValue[] {
    const items: JsonValue[] = [];
    this.pos++;
    this.space();
    if (this.text[this.pos] === ']') {
      this.pos++;
      return items;
    }
    for (;;) {
      items.push(this.value(depth + 1));
      if (this.separator(']')) return items;
    }
  }

  /** After a member or item: true at the closing `end`, false after a comma; anything else is invalid. */
  separator(end: string): boolean {
    this.space();
    const c = this.text[this.pos++];
    if (c === end) return true;
    if (c === ',') return false;
    throw invalid();
  }
}

const WORDS: ReadonlyArray<readonly [string, JsonValue]> = [
  ['true', true],
  ['false', false],
  ['null', null],
];
