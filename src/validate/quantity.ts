/**
 * Kubernetes resource quantities (`500m`, `1.5Gi`, `128974848`, `129e6`) as plain numbers, and back.
 * The npm packages for this are either a whole API client or a parser that misreads decimals and
 * exponents; the grammar is Kubernetes' own (k8s.io/apimachinery resource.Quantity).
 */

const QUANTITY = /^([+-]?)(\d+(?:\.\d*)?|\.\d+)(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E|[eE][+-]?\d+)?$/;

const SUFFIX: Record<string, number> = {
  Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60,
  n: 1e-9, u: 1e-6, m: 1e-3, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18,
};

/** The quantity's value (bytes for memory, cores for cpu), or undefined when it is not a quantity. */
export const parseQuantity = (value: unknown): number | undefined => {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value !== 'string') return undefined;
  const m = QUANTITY.exec(value.trim());
  if (!m) return undefined;
  const [, sign, digits, suffix = ''] = m;
  const scale = /^[eE][+-]?\d/.test(suffix) ? 10 ** Number(suffix.slice(1)) : (SUFFIX[suffix] ?? 1);
  return (sign === '-' ? -1 : 1) * Number(digits) * scale;
};

const trim = (n: number, decimals: number): string => String(Number(n.toFixed(decimals)));

/** Bytes in the largest binary unit that keeps the number at least 1: `4.5Gi`, `384Mi`. */
export const formatMemory = (bytes: number): string => {
  for (const [unit, size] of [['Ei', 2 ** 60], ['Pi', 2 ** 50], ['Ti', 2 ** 40], ['Gi', 2 ** 30], ['Mi', 2 ** 20], ['Ki', 2 ** 10]] as const) {
    if (Math.abs(bytes) >= size) return `${trim(bytes / size, 2)}${unit}`;
  }
  return trim(bytes, 0);
};

/** Cores as Kubernetes writes them: millicores below one core (`250m`), cores above (`1.5`). */
export const formatCpu = (cores: number): string => (Math.abs(cores) < 1 ? `${trim(cores * 1000, 1)}m` : trim(cores, 3));
