/**
 * Patterns of the policy language: `*` (any run of characters, `/` included) and `?` (one character) in actions,
 * resources and the `…Like` condition operators, and policy variables (`${aws:username}`) in resources and condition
 * values of a 2012-10-17 policy.
 * @see https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html
 */
import { keyName } from './keys.ts';

/** One piece of a compiled pattern. */
export type Token =
  | { readonly kind: 'text'; readonly text: string }
  | { readonly kind: 'star' }
  | { readonly kind: 'one' }
  | { readonly kind: 'variable'; readonly key: string; readonly fallback: string | undefined };

/** A compiled pattern. */
export interface Pattern {
  /** The text as written in the policy. */
  readonly source: string;
  readonly tokens: readonly Token[];
  /** True when the pattern holds `*` or `?` as wildcards. */
  readonly wildcards: boolean;
  /** True when the pattern holds a policy variable. */
  readonly variables: boolean;
}

/** Reads a context key's single value for a policy variable; `undefined` when the request has none. */
export type VariableLookup = (key: string) => string | undefined;

/** Which kinds of special text a pattern may hold. */
export interface PatternSyntax {
  /** `*` and `?` are wildcards (else literal characters). */
  wildcards: boolean;
  /** `${key}` is a policy variable (else literal text): only in policies of Version 2012-10-17. */
  variables: boolean;
}

// `${key}` or `${key, 'default'}`; `${*}`, `${?}` and `${$}` stand for the literal characters.
const VARIABLE = /\$\{(\*|\?|\$|[A-Za-z0-9_.:/@+=-]{1,128})(?:\s*,\s*'([^']{0,256})')?\}/g;

/** Compiles `source` under `syntax`. */
export function compilePattern(source: string, syntax: PatternSyntax): Pattern {
  const tokens: Token[] = [];
  let wildcards = false;
  let variables = false;
  const text = (chunk: string) => {
    if (!syntax.wildcards) {
      if (chunk !== '') tokens.push({ kind: 'text', text: chunk });
      return;
    }
    let run = '';
    for (const c of chunk) {
      if (c !== '*' && c !== '?') {
        run += c;
        continue;
      }
      if (run !== '') tokens.push({ kind: 'text', text: run });
      run = '';
      tokens.push({ kind: c === '*' ? 'star' : 'one' });
      wildcards = true;
    }
    if (run !== '') tokens.push({ kind: 'text', text: run });
  };
  if (!syntax.variables) {
    text(source);
    return Object.freeze({ source, tokens: Object.freeze(tokens), wildcards, variables });
  }
  let last = 0;
  for (const match of source.matchAll(VARIABLE)) {
    text(source.slice(last, match.index));
    last = match.index + match[0].length;
    const key = match[1]!;
    if (key === '*' || key === '?' || key === '$') {
      tokens.push({ kind: 'text', text: key });
    } else {
      tokens.push({ kind: 'variable', key: keyName(key), fallback: match[2] });
      variables = true;
    }
  }
  text(source.slice(last));
  return Object.freeze({ source, tokens: Object.freeze(tokens), wildcards, variables });
}

/** A wildcard or a character, after variables are replaced. */
type Unit = string | typeof STAR | typeof ONE;
const STAR = Symbol('*');
const ONE = Symbol('?');

/**
 * Whether `value` matches `pattern`. A variable is replaced by its value as literal text (a `*` in a user name is
 * no wildcard); a variable the request has no value for, and no default, makes the pattern match nothing, as AWS
 * does. `ignoreCase` compares without regard to case (actions, StringEqualsIgnoreCase).
 */
export function matchPattern(pattern: Pattern, value: string, lookup: VariableLookup, ignoreCase = false): boolean {
  const units: Unit[] = [];
  for (const token of pattern.tokens) {
    if (token.kind === 'star') units.push(STAR);
    else if (token.kind === 'one') units.push(ONE);
    else {
      const text = token.kind === 'text' ? token.text : (lookup(token.key) ?? token.fallback);
      if (text === undefined) return false;
      for (const c of ignoreCase ? text.toLowerCase() : text) units.push(c);
    }
  }
  return globMatch(units, Array.from(ignoreCase ? value.toLowerCase() : value));
}

/**
 * Wildcard matching by two cursors, going back to the last `*` on a mismatch: O(pattern × value) at worst, and no
 * regular expression, so no pattern a policy holds can make a match run away.
 */
function globMatch(units: readonly Unit[], chars: readonly string[]): boolean {
  let p = 0;
  let s = 0;
  let star = -1;
  let resume = 0;
  while (s < chars.length) {
    const unit = units[p];
    if (p < units.length && (unit === ONE || unit === chars[s])) {
      p++;
      s++;
    } else if (unit === STAR) {
      star = p++;
      resume = s;
    } else if (star !== -1) {
      p = star + 1;
      s = ++resume;
    } else {
      return false;
    }
  }
  while (units[p] === STAR) p++;
  return p === units.length;
}
