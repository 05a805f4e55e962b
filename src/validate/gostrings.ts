/**
 * Go's string semantics, where Flux's envsubst depends on them: a string is UTF-8 bytes (lengths and
 * offsets count bytes), an invalid byte reads as U+FFFD, case mapping is Unicode's simple one-to-one
 * mapping, and patterns are matched by the fork of Go's path.Match that Flux ships in its envsubst.
 * No npm glob library matches like that fork (its `*` and `?` cross `/`, and it gives up early), so
 * the matcher is written here.
 */
export type Bytes = Uint8Array;

export const RUNE_ERROR = 0xfffd;
export const EMPTY: Bytes = new Uint8Array(0);

const encoder = new TextEncoder();
const strictDecoder = new TextDecoder('utf-8', { fatal: true });

export const toBytes = (s: string): Bytes => encoder.encode(s);

/** The text of valid UTF-8, or undefined where Go would hold bytes no YAML parser accepts. */
export const fromBytes = (b: Bytes): string | undefined => {
  try {
    return strictDecoder.decode(b);
  } catch {
    return undefined;
  }
};

export const concat = (parts: Bytes[]): Bytes => {
  if (parts.length === 1) return parts[0];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
};

/** utf8.DecodeRune: the rune at i and its width; an invalid or short sequence is U+FFFD of width 1. */
export const decodeRune = (b: Bytes, i: number): [rune: number, width: number] => {
  const b0 = b[i];
  if (b0 < 0x80) return [b0, 1];
  let follow: number;
  let rune: number;
  let lo = 0x80;
  let hi = 0xbf;
  if (b0 >= 0xc2 && b0 <= 0xdf) {
    follow = 1;
    rune = b0 & 0x1f;
  } else if (b0 >= 0xe0 && b0 <= 0xef) {
    follow = 2;
    rune = b0 & 0x0f;
    if (b0 === 0xe0) lo = 0xa0; // overlong
    if (b0 === 0xed) hi = 0x9f; // surrogates
  } else if (b0 >= 0xf0 && b0 <= 0xf4) {
    follow = 3;
    rune = b0 & 0x07;
    if (b0 === 0xf0) lo = 0x90; // overlong
    if (b0 === 0xf4) hi = 0x8f; // above U+10FFFF
  } else return [RUNE_ERROR, 1];
  if (i + follow >= b.length) return [RUNE_ERROR, 1];
  for (let k = 1; k <= follow; k++) {
    const c = b[i + k];
    if (c < (k === 1 ? lo : 0x80) || c > (k === 1 ? hi : 0xbf)) return [RUNE_ERROR, 1];
    rune = (rune << 6) | (c & 0x3f);
  }
  return [rune, follow + 1];
};

/** `[]rune(s)`: every invalid byte becomes U+FFFD. */
export const runes = (b: Bytes): number[] => {
  const out: number[] = [];
  for (let i = 0; i < b.length; ) {
    const [r, w] = decodeRune(b, i);
    out.push(r);
    i += w;
  }
  return out;
};

export const fromRunes = (rs: number[]): Bytes => {
  const out: number[] = [];
  for (const r of rs) {
    if (r < 0x80) out.push(r);
    else if (r < 0x800) out.push(0xc0 | (r >> 6), 0x80 | (r & 0x3f));
    else if (r < 0x10000) out.push(0xe0 | (r >> 12), 0x80 | ((r >> 6) & 0x3f), 0x80 | (r & 0x3f));
    else out.push(0xf0 | (r >> 18), 0x80 | ((r >> 12) & 0x3f), 0x80 | ((r >> 6) & 0x3f), 0x80 | (r & 0x3f));
  }
  return Uint8Array.from(out);
};

export const reverseRunes = (b: Bytes): Bytes => fromRunes(runes(b).reverse());

const equalAt = (s: Bytes, at: number, sub: Bytes): boolean => {
  if (at < 0 || at + sub.length > s.length) return false;
  for (let k = 0; k < sub.length; k++) if (s[at + k] !== sub[k]) return false;
  return true;
};

export const hasPrefix = (s: Bytes, prefix: Bytes): boolean => equalAt(s, 0, prefix);
export const hasSuffix = (s: Bytes, suffix: Bytes): boolean => equalAt(s, s.length - suffix.length, suffix);

const indexOf = (s: Bytes, sub: Bytes, from: number): number => {
  for (let i = from; i + sub.length <= s.length; i++) if (equalAt(s, i, sub)) return i;
  return -1;
};

/** strings.Replace: up to n (all when n < 0) non-overlapping literal matches; an empty `old` matches before every rune and at the end. */
export const replace = (s: Bytes, old: Bytes, by: Bytes, n: number): Bytes => {
  const parts: Bytes[] = [];
  let start = 0;
  for (let done = 0; n < 0 || done < n; done++) {
    let at: number;
    if (old.length === 0) {
      if (done > 0 && start === s.length) break;
      at = done === 0 ? start : start + decodeRune(s, start)[1];
    } else {
      at = indexOf(s, old, start);
      if (at < 0) break;
    }
    parts.push(s.subarray(start, at), by);
    start = at + old.length;
  }
  if (parts.length === 0) return s;
  parts.push(s.subarray(start));
  return concat(parts);
};

// Where the full case mapping JavaScript applies to one code point gives several, Go's simple mapping
// is one code point: the Greek letters with ypogegrammeni go to their titlecase form, İ to i. Every
// other code point with a multi-character full mapping (ß, ŉ, the ligatures, ...) stays as it is.
const SIMPLE_UPPER = new Map<number, number>([
  ...[0x1f80, 0x1f90, 0x1fa0].flatMap((base) => Array.from({ length: 8 }, (_, k): [number, number] => [base + k, base + k + 8])),
  [0x1fb3, 0x1fbc],
  [0x1fc3, 0x1fcc],
  [0x1ff3, 0x1ffc],
]);
const SIMPLE_LOWER = new Map<number, number>([[0x130, 0x69]]);

const simpleCase = (r: number, upper: boolean): number => {
  if (r < 0x80) {
    if (upper) return r >= 0x61 && r <= 0x7a ? r - 32 : r;
    return r >= 0x41 && r <= 0x5a ? r + 32 : r;
  }
  const special = (upper ? SIMPLE_UPPER : SIMPLE_LOWER).get(r);
  if (special !== undefined) return special;
  const char = String.fromCodePoint(r);
  const mapped = upper ? char.toUpperCase() : char.toLowerCase();
  const first = mapped.codePointAt(0)!;
  return mapped.length === (first > 0xffff ? 2 : 1) ? first : r;
};

/** unicode.ToUpper / unicode.ToLower of one rune. */
export const upperRune = (r: number): number => simpleCase(r, true);
export const lowerRune = (r: number): number => simpleCase(r, false);

/** strings.Map: each rune mapped, each invalid byte written as U+FFFD. */
export const mapRunes = (s: Bytes, f: (r: number) => number): Bytes => fromRunes(runes(s).map(f));

/** The first rune mapped, the rest left byte for byte. */
export const mapFirstRune = (s: Bytes, f: (r: number) => number): Bytes => {
  if (s.length === 0) return s;
  const [r, w] = decodeRune(s, 0);
  return concat([fromRunes([f(r)]), s.subarray(w)]);
};

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** strconv.Atoi on a 64-bit platform: decimal with an optional sign, undefined when it does not parse or overflows. */
export const atoi = (s: Bytes): bigint | undefined => {
  const text = fromBytes(s);
  if (text === undefined || !/^[+-]?[0-9]+$/.test(text)) return undefined;
  const n = BigInt(text);
  return n < INT64_MIN || n > INT64_MAX ? undefined : n;
};

export class BadPattern extends Error {
  constructor() {
    super('syntax error in pattern');
  }
}

const STAR = 0x2a;
const QUESTION = 0x3f;
const BACKSLASH = 0x5c;
const LBRACKET = 0x5b;
const RBRACKET = 0x5d;
const CARET = 0x5e;
const DASH = 0x2d;

/**
 * Flux's fork of Go's path.Match: `*` is any run of bytes (`/` included), `?` one rune, `[...]` and
 * `[^...]` a rune class, `\c` the byte c. The last chunk must end the name; a trailing `*` takes the
 * rest. Throws BadPattern as Go returns ErrBadPattern: only once matching reaches the malformed part.
 */
export const globMatch = (pattern: Bytes, name: Bytes): boolean => {
  let rest = pattern;
  next: while (rest.length > 0) {
    const { star, chunk, after } = scanChunk(rest);
    rest = after;
    if (star && chunk.length === 0) return true;
    const tail = matchChunk(chunk, name);
    if (tail && (tail.length === 0 || rest.length > 0)) {
      name = tail;
      continue;
    }
    if (star) {
      for (let skip = 1; skip <= name.length; skip++) {
        const t = matchChunk(chunk, name.subarray(skip));
        if (!t || (rest.length === 0 && t.length > 0)) continue;
        name = t;
        continue next;
      }
    }
    return false;
  }
  return name.length === 0;
};

/** The leading stars (if any) and the chunk of single-character terms up to the next star outside a class. */
const scanChunk = (pattern: Bytes): { star: boolean; chunk: Bytes; after: Bytes } => {
  let from = 0;
  while (from < pattern.length && pattern[from] === STAR) from++;
  let inClass = false;
  let i = from;
  for (; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === BACKSLASH) {
      if (i + 1 < pattern.length) i++;
    } else if (c === LBRACKET) inClass = true;
    else if (c === RBRACKET) inClass = false;
    else if (c === STAR && !inClass) break;
  }
  return { star: from > 0, chunk: pattern.subarray(from, i), after: pattern.subarray(i) };
};

/** What is left of s after chunk matched its beginning, or undefined when it does not match. */
const matchChunk = (chunk: Bytes, s: Bytes): Bytes | undefined => {
  let c = 0;
  let i = 0;
  while (c < chunk.length) {
    if (i >= s.length) return undefined;
    const term = chunk[c];
    if (term === LBRACKET) {
      const [r, w] = decodeRune(s, i);
      i += w;
      c++;
      const negated = chunk[c] === CARET;
      if (negated) c++;
      let inClass = false;
      for (let ranges = 0; ; ranges++) {
        if (chunk[c] === RBRACKET && ranges > 0) {
          c++;
          break;
        }
        const lo = classChar(chunk, c);
        let hi = lo;
        if (chunk[lo.next] === DASH) hi = classChar(chunk, lo.next + 1);
        c = hi.next;
        if (lo.rune <= r && r <= hi.rune) inClass = true;
      }
      if (inClass === negated) return undefined;
    } else if (term === QUESTION) {
      i += decodeRune(s, i)[1];
      c++;
    } else {
      if (term === BACKSLASH) {
        c++;
        if (c >= chunk.length) throw new BadPattern();
      }
      if (chunk[c] !== s[i]) return undefined;
      i++;
      c++;
    }
  }
  return s.subarray(i);
};

/** One possibly escaped character of a class; a class must not end right after it. */
const classChar = (chunk: Bytes, at: number): { rune: number; next: number } => {
  if (at >= chunk.length || chunk[at] === DASH || chunk[at] === RBRACKET) throw new BadPattern();
  if (chunk[at] === BACKSLASH) {
    at++;
    if (at >= chunk.length) throw new BadPattern();
  }
  const [rune, width] = decodeRune(chunk, at);
  if ((rune === RUNE_ERROR && width === 1) || at + width >= chunk.length) throw new BadPattern();
  return { rune, next: at + width };
};
