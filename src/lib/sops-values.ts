// What a YAML scalar is to sops: sops reads YAML with Go's yaml.v3, whose resolution rules differ from YAML 1.2's
// (0755 is octal, 1_000 is 1000, 2001-01-01 is a timestamp), and turns values into bytes with Go's strconv.
// Everything here reproduces those two libraries for the values a SOPS file can hold.

/** A value as sops holds it after yaml.v3 decoded it. */
export type GoValue =
  | { type: 'str'; text: string }
  | { type: 'int'; value: bigint }
  | { type: 'float'; value: number }
  | { type: 'bool'; value: boolean }
  | { type: 'time'; text: string }
  | { type: 'null' };

/** A scalar yaml.v3 decodes into something sops cannot walk (an unsigned 64-bit integer, !!binary). */
export class UnsupportedValue extends Error {}

const INT64_MAX = 2n ** 63n - 1n;
const INT64_MIN = -(2n ** 63n);
const UINT64_MAX = 2n ** 64n - 1n;

const RESOLVE_MAP: Record<string, GoValue> = {
  ...Object.fromEntries(['true', 'True', 'TRUE'].map((s) => [s, { type: 'bool', value: true }])),
  ...Object.fromEntries(['false', 'False', 'FALSE'].map((s) => [s, { type: 'bool', value: false }])),
  ...Object.fromEntries(['', '~', 'null', 'Null', 'NULL'].map((s) => [s, { type: 'null' }])),
  ...Object.fromEntries(['.nan', '.NaN', '.NAN'].map((s) => [s, { type: 'float', value: Number.NaN }])),
  ...Object.fromEntries(['.inf', '.Inf', '.INF', '+.inf', '+.Inf', '+.INF'].map((s) => [s, { type: 'float', value: Infinity }])),
  ...Object.fromEntries(['-.inf', '-.Inf', '-.INF'].map((s) => [s, { type: 'float', value: -Infinity }])),
  '<<': { type: 'str', text: '<<' },
};

/** strconv.ParseInt(s, 0, 64) and ParseUint's syntax: sign, then 0x, 0o, 0b or a leading 0 (octal). */
const parseGoInt = (s: string, signed: boolean): bigint | undefined => {
  const m = /^([+-]?)(0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|0[0-7]*|[1-9][0-9]*)$/.exec(s);
  if (!m || (!signed && m[1])) return undefined;
  let digits = m[2];
  if (/^0[0-7]+$/.test(digits)) digits = `0o${digits.slice(1)}`;
  const value = BigInt(digits.toLowerCase()) * (m[1] === '-' ? -1n : 1n);
  if (signed ? value < INT64_MIN || value > INT64_MAX : value > UINT64_MAX) return undefined;
  return value;
};

/** strconv.ParseFloat for decimal text: undefined on a syntax error or an overflow to infinity. */
const parseGoDecimalFloat = (s: string): number | undefined => {
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(s)) return undefined;
  const value = Number(s);
  return Number.isFinite(value) ? value : undefined;
};

const YAML_STYLE_FLOAT = /^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$/;

const DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
const isLeap = (y: number) => y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);
const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/**
 * yaml.v3's timestamps: time.Parse with "2006-1-2T15:4:5.999999999Z07:00" (T or t), "2006-1-2 15:4:5.999999999"
 * or "2006-1-2", formatted back as Go's MarshalText writes them (RFC 3339 with nanoseconds, trailing zeros cut).
 */
export const parseTimestamp = (s: string): string | undefined => {
  const m = /^(\d{4})-(\d{1,2})-(\d{1,2})(?:([Tt ])(\d{1,2}):(\d{1,2}):(\d{1,2})(?:[.,](\d+))?(Z|[+-]\d{2}:\d{2})?)?$/.exec(s);
  if (!m) return undefined;
  const [, y, mo, d, sep, h, mi, se, frac, zone] = m;
  if (sep === ' ' ? zone !== undefined : sep !== undefined && zone === undefined) return undefined;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  if (month < 1 || month > 12 || day < 1 || day > (month === 2 && isLeap(year) ? 29 : DAYS[month - 1])) return undefined;
  const [hour, minute, second] = [h, mi, se].map((v) => Number(v ?? 0));
  if (hour > 23 || minute > 59 || second > 59) return undefined;
  const nanos = (frac ?? '').slice(0, 9).padEnd(9, '0').replace(/0+$/, '');
  const offset = !zone || zone === 'Z' || /^[+-]00:00$/.test(zone) ? 'Z' : zone;
  if (offset !== 'Z' && (Number(offset.slice(1, 3)) > 24 || Number(offset.slice(4)) > 60)) return undefined;
  return `${y}-${pad(month)}-${pad(day)}T${pad(hour)}:${pad(minute)}:${pad(second)}${nanos ? `.${nanos}` : ''}${offset}`;
};

const shortTag = (tag?: string | null): string => (tag?.startsWith('tag:yaml.org,2002:') ? `!!${tag.slice(18)}` : (tag ?? ''));

/**
 * yaml.v3's resolve(): what a scalar decodes to in an interface{}, from its text, whether it was quoted (or a
 * block scalar) and its explicit tag. Throws a plain Error for what yaml.v3 refuses to decode (`!!int abc`) and
 * UnsupportedValue for what sops then cannot walk.
 */
export const resolveScalar = (text: string, quoted: boolean, rawTag?: string | null): GoValue => {
  const tag = shortTag(rawTag);
  if (tag === '!!str' || (quoted && (tag === '' || tag === '!'))) return { type: 'str', text };
  if (tag === '!!binary') throw new UnsupportedValue('a !!binary value');
  if (!['', '!!bool', '!!int', '!!float', '!!null', '!!timestamp'].includes(tag)) return { type: 'str', text };
  const resolved = resolvePlain(text, tag);
  const wanted: Record<string, GoValue['type']> = { '!!bool': 'bool', '!!int': 'int', '!!float': 'float', '!!null': 'null', '!!timestamp': 'time' };
  if (tag && resolved.type !== wanted[tag]) {
    if (tag === '!!float' && resolved.type === 'int') return { type: 'float', value: Number(resolved.value) };
    throw new Error(`cannot decode ${text} as a ${tag}`);
  }
  return resolved;
};

const resolvePlain = (text: string, tag: string): GoValue => {
  const first = text[0] ?? '';
  const hint = text === '' ? 'N' : /[-+0-9]/.test(first) ? 'D' : /[yYnNtTfFoO~]/.test(first) ? 'M' : first === '.' ? '.' : '';
  if (!hint) return { type: 'str', text };
  if (Object.hasOwn(RESOLVE_MAP, text)) return RESOLVE_MAP[text];
  if (hint === '.') {
    const f = parseGoDecimalFloat(text);
    return f === undefined ? { type: 'str', text } : { type: 'float', value: f };
  }
  if (hint !== 'D') return { type: 'str', text };
  if (tag === '' || tag === '!!timestamp') {
    const time = parseTimestamp(text);
    if (time) return { type: 'time', text: time };
  }
  const plain = text.replaceAll('_', '');
  const int = parseGoInt(plain, true);
  if (int !== undefined) return { type: 'int', value: int };
  if (parseGoInt(plain, false) !== undefined) throw new UnsupportedValue(`the integer ${text}, above 2^63-1`);
  if (YAML_STYLE_FLOAT.test(plain)) {
    const f = parseGoDecimalFloat(plain);
    if (f !== undefined) return { type: 'float', value: f };
  }
  return { type: 'str', text };
};

/** The shortest digits that round-trip, and the decimal point's position, as Go's and JavaScript's shortest formatting agree. */
const shortestDigits = (x: number): { digits: string; dp: number } => {
  const [mantissa, exp] = Math.abs(x).toExponential().split('e');
  return { digits: mantissa.replace('.', ''), dp: Number(exp) + 1 };
};

const fixed = (digits: string, dp: number): string =>
  dp <= 0 ? `0.${'0'.repeat(-dp)}${digits}` : dp >= digits.length ? digits + '0'.repeat(dp - digits.length) : `${digits.slice(0, dp)}.${digits.slice(dp)}`;

const special = (x: number): string | undefined => (Number.isNaN(x) ? 'NaN' : x === Infinity ? '+Inf' : x === -Infinity ? '-Inf' : undefined);
const sign = (x: number): string => (x < 0 || Object.is(x, -0) ? '-' : '');

/** strconv.FormatFloat(x, 'f', -1, 64): how sops writes a float into the MAC and the cipher. */
export const formatFloatF = (x: number): string => {
  const s = special(x);
  if (s) return s;
  if (x === 0) return `${sign(x)}0`;
  const { digits, dp } = shortestDigits(x);
  return sign(x) + fixed(digits, dp);
};

/** strconv.FormatFloat(x, 'g', -1, 64), as yaml.v3 writes a float (with .inf and .nan). */
export const formatFloatG = (x: number): string => {
  const s = special(x);
  if (s) return { NaN: '.nan', '+Inf': '.inf', '-Inf': '-.inf' }[s]!;
  if (x === 0) return `${sign(x)}0`;
  const { digits, dp } = shortestDigits(x);
  const exp = dp - 1;
  if (exp < -4 || exp >= 6) {
    const e = `${exp < 0 ? '-' : '+'}${pad(Math.abs(exp))}`;
    return `${sign(x)}${digits[0]}${digits.length > 1 ? `.${digits.slice(1)}` : ''}e${e}`;
  }
  return sign(x) + fixed(digits, dp);
};

/** sops' ToBytes, which is also the plaintext its cipher encrypts: the text of a value and its `type:`. */
export const toBytes = (v: Exclude<GoValue, { type: 'null' }>): { text: string; type: string } => {
  switch (v.type) {
    case 'str':
      return { text: v.text, type: 'str' };
    case 'int':
      return { text: v.value.toString(), type: 'int' };
    case 'float':
      return { text: formatFloatF(v.value), type: 'float' };
    case 'bool':
      return { text: v.value ? 'True' : 'False', type: 'bool' };
    case 'time':
      return { text: v.text, type: 'time' };
  }
};

/** The aes cipher's Decrypt: a decrypted text back into a value of its recorded type (Atoi, ParseFloat, ParseBool, UnmarshalText). */
export const fromBytes = (text: string, type: string): GoValue => {
  switch (type) {
    case 'str':
    case 'bytes':
      return { type: 'str', text };
    case 'int': {
      if (!/^[+-]?\d+$/.test(text)) throw new Error(`invalid int ${text}`);
      const value = BigInt(text);
      if (value < INT64_MIN || value > INT64_MAX) throw new Error(`int out of range ${text}`);
      return { type: 'int', value };
    }
    case 'float': {
      const word = text.toLowerCase().replace(/^\+/, '');
      const value = ['inf', 'infinity'].includes(word) ? Infinity : ['-inf', '-infinity'].includes(word) ? -Infinity : word === 'nan' ? NaN : parseGoDecimalFloat(text);
      if (value === undefined) throw new Error(`invalid float ${text}`);
      return { type: 'float', value };
    }
    case 'bool': {
      if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(text)) return { type: 'bool', value: true };
      if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(text)) return { type: 'bool', value: false };
      throw new Error(`invalid bool ${text}`);
    }
    case 'time': {
      const time = /^\d{4}-\d{2}-\d{2}T/.test(text) ? parseTimestamp(text) : undefined;
      if (!time) throw new Error(`invalid time ${text}`);
      return { type: 'time', text: time };
    }
    default:
      throw new Error(`unknown type ${type}`);
  }
};

/** Whether yaml.v3 writes a string quoted: when it would read back as something else, or as a YAML 1.1 bool. */
export const goQuotes = (s: string): boolean => {
  if (/^(y|Y|yes|Yes|YES|on|On|ON|n|N|no|No|NO|off|Off|OFF)$/.test(s)) return true;
  if (/^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$/.test(s)) return true;
  try {
    return resolvePlain(s, '').type !== 'str' || s === '<<';
  } catch {
    return true;
  }
};
