/** IPv4 arithmetic for address plans: addresses as unsigned 32-bit numbers. */
export const ip = (s: string): number => s.split('.').reduce((n, o) => n * 256 + Number(o), 0);
export const ipString = (n: number): string => [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.');

export interface Range {
  first: number;
  last: number;
  prefix: number;
}

export const cidr = (s: string): Range => {
  const [addr, bits] = s.split('/');
  const prefix = Number(bits);
  const size = 2 ** (32 - prefix);
  const first = Math.floor(ip(addr) / size) * size;
  return { first, last: first + size - 1, prefix };
};

export const overlaps = (a: string, b: string): boolean => {
  const x = cidr(a);
  const y = cidr(b);
  return x.first <= y.last && y.first <= x.last;
};

export const contains = (range: string, address: string): boolean => {
  const r = cidr(range);
  const n = ip(address);
  return n >= r.first && n <= r.last;
};

/** The n-th address of a range (1: the first host). */
export const nth = (range: string, n: number): string => ipString(cidr(range).first + n);
