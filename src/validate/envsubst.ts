import {
  atoi,
  BadPattern,
  concat,
  EMPTY,
  fromBytes,
  globMatch,
  hasPrefix,
  hasSuffix,
  lowerRune,
  mapFirstRune,
  mapRunes,
  replace,
  reverseRunes,
  toBytes,
  upperRune,
  type Bytes,
} from './gostrings.ts';

/**
 * Flux's post-build substitution language, as kustomize-controller v1.7 runs it (fluxcd/pkg envsubst
 * v1.5.0): `${var}` and the bash-like operators below, `$$` for a literal `$`. Values are Go strings:
 * lengths and offsets count UTF-8 bytes. docs/substitution.md lists every form and where Flux departs
 * from bash.
 */

/** A template is text and `${...}` expressions; an expression's arguments are templates of their own. */
export type Node = string | Expression;

export interface Expression {
  /** The variable. */
  name: string;
  /** Flux's operator as written (`''` for a plain `${var}`, `#` without arguments for the length). */
  op: string;
  args: Node[];
}

/** The operators that give a default: Flux treats all five alike (a default for an unset or empty value). */
const DEFAULTING = new Set(['=', ':=', ':-', ':?', ':+']);

export type SyntaxReason =
  | 'bad substitution'
  | 'missing closing brace'
  | 'unable to parse variable name'
  | 'unable to parse substitution within function';

/** An expression Flux's parser rejects (its words for the reason); the whole resource then fails to apply. */
export class EnvsubstSyntaxError extends Error {
  constructor(
    readonly reason: SyntaxReason,
    /** Where the failing outermost `${` starts and where the parser gave up, as string indices. */
    readonly start: number,
    readonly at: number,
  ) {
    super(reason);
  }
}

const IDENT = /[\p{L}\p{Nd}_]/u;
/** Each parsed expression as it was written, for messages. */
const written = new WeakMap<Expression, string>();
const NOT_CLOSING = (c: string) => c !== '}';

/** The parse tree of a template, or throws EnvsubstSyntaxError. */
export const parseTemplate = (input: string): Node[] => new Parser(input).template();

class Parser {
  private pos = 0;
  private start = 0;

  constructor(private readonly src: string) {}

  template(): Node[] {
    const nodes: Node[] = [];
    let text = '';
    while (this.pos < this.src.length) {
      if (this.opens()) {
        if (text) nodes.push(text);
        text = '';
        this.start = this.pos;
        nodes.push(this.expression());
      } else if (this.src.startsWith('$$', this.pos)) {
        text += '$';
        this.pos += 2;
      } else text += this.src[this.pos++];
    }
    if (text) nodes.push(text);
    return nodes;
  }

  private opens(): boolean {
    return this.src.startsWith('${', this.pos);
  }

  private peek(): string | undefined {
    return this.src[this.pos];
  }

  private fail(reason: SyntaxReason): never {
    throw new EnvsubstSyntaxError(reason, this.start, this.pos);
  }

  private close(): void {
    if (this.peek() !== '}') this.fail('bad substitution');
    this.pos++;
  }

  private identifier(): string {
    const from = this.pos;
    for (;;) {
      const cp = this.src.codePointAt(this.pos);
      if (cp === undefined) break;
      const char = String.fromCodePoint(cp);
      if (!IDENT.test(char)) break;
      this.pos += char.length;
    }
    return this.src.slice(from, this.pos);
  }

  private expression(): Expression {
    const from = this.pos;
    const expr = this.expressionBody();
    written.set(expr, this.src.slice(from, this.pos));
    return expr;
  }

  /** After `${`. */
  private expressionBody(): Expression {
    this.pos += 2;
    if (this.peek() === '#') {
      this.pos++;
      const name = this.identifier();
      if (!name) this.fail('bad substitution');
      this.close();
      return { name, op: '#', args: [] };
    }
    const name = this.identifier();
    if (!name) this.fail('unable to parse variable name');
    switch (this.peek()) {
      case '}':
        this.pos++;
        return { name, op: '', args: [] };
      case ':':
        return this.colon(name);
      case '=':
        this.pos++;
        return { name, op: '=', args: this.defaultArguments() };
      case ',':
      case '^':
        return { name, op: this.operator((c) => c === ',' || c === '^'), args: this.closed([]) };
      case '#':
      case '%': {
        const mark = this.peek();
        return { name, op: this.operator((c) => c === mark), args: this.closed([this.argument(NOT_CLOSING, false)]) };
      }
      case '/':
        return this.replacement(name);
      default:
        // `${var-x}`, `${var+x}`, `${var?x}`, `${var }`, `${var[0]}`, ...: Flux has no such form.
        return this.fail('missing closing brace');
    }
  }

  /** One or two operator characters (`,` `,,` `^^` `##` `%%` ...). */
  private operator(accepts: (c: string) => boolean): string {
    const from = this.pos;
    while (this.pos - from < 2 && accepts(this.src[this.pos] ?? '')) this.pos++;
    return this.src.slice(from, this.pos);
  }

  private closed(args: Node[]): Node[] {
    this.close();
    return args;
  }

  /** `${var:=x}`, `${var:-x}`, `${var:?x}`, `${var:+x}`, or the substring `${var:offset}` / `${var:offset:length}`. */
  private colon(name: string): Expression {
    this.pos++;
    const next = this.peek();
    if (next !== undefined && '=-?+'.includes(next)) {
      this.pos++;
      return { name, op: `:${next}`, args: this.defaultArguments() };
    }
    // Flux's scanner steps back by the width of the character after `:`; past a multi-byte one it loses its place.
    if (next === undefined || next.charCodeAt(0) > 0x7f) this.fail('bad substitution');
    const args = [this.argument((c) => c !== ':' && c !== '}', false)];
    if (this.peek() === '}') {
      this.pos++;
      return { name, op: ':', args };
    }
    if (this.peek() !== ':') this.fail('bad substitution');
    while (this.peek() === ':') this.pos++;
    args.push(this.argument(NOT_CLOSING, false));
    return { name, op: ':', args: this.closed(args) };
  }

  /** `${var/pattern/replacement}`, `//`, `/#`, `/%`: `\/`, `\\` and `$$` are escapes in both arguments. */
  private replacement(name: string): Expression {
    let op = '/';
    this.pos++;
    const mode = this.peek();
    if (mode === '/' || mode === '#' || mode === '%') {
      op += mode;
      this.pos++;
    }
    const args = [this.argument((c) => c !== '/', true)];
    if (this.peek() !== '/') this.fail('bad substitution');
    while (this.peek() === '/') this.pos++;
    if (this.peek() === '}') {
      this.pos++;
      return { name, op, args };
    }
    args.push(this.argument(NOT_CLOSING, true));
    return { name, op, args: this.closed(args) };
  }

  /** Text and nested expressions up to the closing brace, all of them the default. */
  private defaultArguments(): Node[] {
    const args: Node[] = [];
    while (this.peek() !== '}') args.push(this.argument(NOT_CLOSING, false));
    this.pos++;
    return args;
  }

  /** One argument: a nested `${...}`, or text up to a character it does not accept or the next `${`. */
  private argument(accepts: (c: string) => boolean, escapes: boolean): Node {
    if (this.opens()) return this.expression();
    let text = '';
    while (this.pos < this.src.length && !this.opens()) {
      const escaped = escapes ? this.escaped() : undefined;
      if (escaped !== undefined) {
        text += escaped;
        this.pos += 2;
        continue;
      }
      const c = this.src[this.pos];
      if (!accepts(c)) break;
      text += c;
      this.pos++;
    }
    if (!text && !this.opens()) this.fail('unable to parse substitution within function');
    return text;
  }

  private escaped(): string | undefined {
    const pair = this.src.slice(this.pos, this.pos + 2);
    return pair === '$$' ? '$' : pair === '\\/' || pair === '\\\\' ? pair[1] : undefined;
  }
}

export interface SubstError {
  /** The expression as written (from its `${`), for the finding. */
  expression: string;
  message: string;
}

export interface SubstResult {
  output: string;
  /** Variables used without a value where no default applies (Flux would write an empty string). */
  missing: string[];
  /** A form Flux rejects or fails on: the resource would not apply. */
  error?: SubstError;
}

type Parsed = { nodes: Node[] } | { syntax: EnvsubstSyntaxError };
// Every object of a cluster repeats the same few values (`${APP}`, `${CLUSTER_DOMAIN}`, ...).
const parsed = new Map<string, Parsed>();

const parseCached = (input: string): Parsed => {
  let p = parsed.get(input);
  if (!p) {
    try {
      p = { nodes: parseTemplate(input) };
    } catch (e) {
      if (!(e instanceof EnvsubstSyntaxError)) throw e;
      p = { syntax: e };
    }
    if (parsed.size > 50_000) parsed.clear();
    parsed.set(input, p);
  }
  return p;
};

/** The expression text around a failure: from its `${` to the next `}` (or the line's end). */
const expressionText = (input: string, start: number, at: number): string => {
  const close = input.indexOf('}', at);
  const eol = input.indexOf('\n', start);
  let end = close < 0 ? input.length : close + 1;
  if (eol >= 0 && eol < end) end = eol;
  return input.slice(start, Math.max(end, Math.min(at + 1, input.length)));
};

const shown = (expression: string): string => (expression.length > 80 ? `${expression.slice(0, 77)}...` : expression);

/** A substring whose length Flux's Go code cannot slice with: its controller panics on it. */
class SlicePanic extends Error {}

/** `input` with every expression replaced as Flux does; `vars` are the Kustomization's variables. */
export const envsubst = (input: string, vars: Record<string, string>): SubstResult => {
  const p = parseCached(input);
  if ('syntax' in p) {
    const { reason, start, at } = p.syntax;
    const expression = expressionText(input, start, at);
    return { output: input, missing: [], error: { expression, message: `${shown(expression)} is not valid Flux substitution syntax (${reason})` } };
  }
  const missing = new Set<string>();
  const quick = inText(p.nodes, vars, missing);
  if (quick !== undefined) return { output: quick, missing: [...missing] };
  missing.clear();
  const values = new Map<string, Bytes>();
  const lookup = (name: string): Bytes | undefined => {
    if (!Object.hasOwn(vars, name)) return undefined;
    let v = values.get(name);
    if (!v) values.set(name, (v = toBytes(vars[name])));
    return v;
  };
  const parts: Bytes[] = [];
  for (const node of p.nodes) {
    if (typeof node === 'string') parts.push(toBytes(node));
    else {
      try {
        parts.push(evaluate(node, lookup, missing));
      } catch (e) {
        if (!(e instanceof SlicePanic)) throw e;
        const expression = written.get(node)!;
        return { output: input, missing: [], error: { expression, message: `${shown(expression)}: ${e.message}` } };
      }
    }
  }
  const output = fromBytes(concat(parts));
  if (output === undefined) {
    // Name the expression that cuts a character, unless only their concatenation is invalid.
    const culprit = p.nodes.find((n, i) => typeof n !== 'string' && fromBytes(parts[i]) === undefined);
    const expression = culprit && typeof culprit !== 'string' ? written.get(culprit)! : input;
    const message = `${shown(expression)} cuts a multi-byte character in two (Flux counts bytes): Flux's YAML parser rejects the invalid UTF-8`;
    return { output: input, missing: [], error: { expression, message } };
  }
  return { output, missing: [...missing] };
};

/**
 * Plain `${var}` and defaults, by far the most used forms, need no byte semantics: they are evaluated on
 * the text. Undefined when another operator appears.
 */
const inText = (nodes: Node[], vars: Record<string, string>, missing: Set<string>): string | undefined => {
  let out = '';
  for (const node of nodes) {
    if (typeof node === 'string') {
      out += node;
      continue;
    }
    const defaulting = DEFAULTING.has(node.op);
    if (node.op !== '' && !defaulting) return undefined;
    const set = Object.hasOwn(vars, node.name);
    const value = set ? vars[node.name] : '';
    if (!set && !defaulting) missing.add(node.name);
    if (value !== '' || node.args.length === 0) {
      // Flux evaluates the unused default too: it must be of these forms as well.
      if (node.args.length && inText(node.args, vars, new Set()) === undefined) return undefined;
      out += value;
      continue;
    }
    const fallback = inText(node.args, vars, missing);
    if (fallback === undefined) return undefined;
    out += fallback;
  }
  return out;
};

const evaluate = (expr: Expression, lookup: (name: string) => Bytes | undefined, missing: Set<string>): Bytes => {
  // Flux evaluates every argument before the operator; a variable missing only in an unused default is no defect.
  const argMissing = new Set<string>();
  const args = expr.args.map((arg) => (typeof arg === 'string' ? toBytes(arg) : evaluate(arg, lookup, argMissing)));
  const found = lookup(expr.name);
  const value = found ?? EMPTY;
  const defaulting = DEFAULTING.has(expr.op);
  if (found === undefined && !defaulting) missing.add(expr.name);
  if (!defaulting || (value.length === 0 && args.length > 0)) argMissing.forEach((m) => missing.add(m));
  return apply(expr.op, value, args);
};

/** Flux's operator table: an operator its parser accepts but its table does not name returns the value as is. */
const apply = (op: string, s: Bytes, args: Bytes[]): Bytes => {
  switch (op) {
    case '':
      return s;
    case ',':
      return mapFirstRune(s, lowerRune);
    case ',,':
      return mapRunes(s, lowerRune);
    case '^':
      return mapFirstRune(s, upperRune);
    case '^^':
      return mapRunes(s, upperRune);
    case '#':
      return args.length === 0 ? toBytes(String(s.length)) : trim(s, args[0], 'shortest', false);
    case '##':
      return trim(s, args[0], 'longest', false);
    case '%':
      return trim(s, args[0], 'shortest', true);
    case '%%':
      return trim(s, args[0], 'longest', true);
    case ':':
      return substring(s, args);
    case '/':
      return replace(s, args[0], args[1] ?? EMPTY, 1);
    case '//':
      return replace(s, args[0], args[1] ?? EMPTY, -1);
    case '/#':
      return args.length === 2 && hasPrefix(s, args[0]) ? replace(s, args[0], args[1], 1) : s;
    case '/%':
      return args.length === 2 && hasSuffix(s, args[0]) ? concat([s.subarray(0, s.length - args[0].length), args[1]]) : s;
    default:
      // The defaults, and casing operators such as `,^`.
      return s.length === 0 && args.length > 0 ? concat(args) : s;
  }
};

/**
 * `#`/`##` remove the shortest/longest prefix the glob matches (an empty prefix is never tried);
 * `%`/`%%` do the same on the rune-reversed value with the rune-reversed pattern, as Flux does, so a
 * suffix pattern with a class or an escape reads backwards. A malformed pattern leaves the value as is.
 */
const trim = (s: Bytes, pattern: Bytes, which: 'shortest' | 'longest', suffix: boolean): Bytes => {
  if (!suffix) return trimPrefix(s, pattern, which);
  return reverseRunes(trimPrefix(reverseRunes(s), reverseRunes(pattern), which));
};

const trimPrefix = (s: Bytes, pattern: Bytes, which: 'shortest' | 'longest'): Bytes => {
  let cut = 0;
  try {
    for (let end = s.length; end > 0; end--) {
      if (!globMatch(pattern, s.subarray(0, end))) continue;
      cut = end;
      if (which === 'longest') break;
    }
  } catch (e) {
    if (e instanceof BadPattern) return s;
    throw e;
  }
  return s.subarray(cut);
};

/** `${var:offset}` and `${var:offset:length}` in bytes; an offset or length that is not a number leaves the value. */
const substring = (s: Bytes, args: Bytes[]): Bytes => {
  const size = BigInt(s.length);
  let pos = atoi(args[0]);
  if (pos === undefined) return s;
  if (pos < 0n) pos = pos + size < 0n ? 0n : pos + size;
  const rest = pos < size ? s.subarray(Number(pos)) : EMPTY;
  if (args.length === 1) return rest;
  const length = atoi(args[1]);
  if (length === undefined) return s;
  const end = BigInt.asIntN(64, pos + length);
  if (end >= size) return rest;
  if (end < pos) throw new SlicePanic(`a negative length (or one past the largest integer) makes Flux's controller panic (slice bounds out of range)`);
  return s.subarray(Number(pos), Number(end));
};
