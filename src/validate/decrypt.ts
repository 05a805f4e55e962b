import { ENC } from '../lib/sops-enc.ts';
import type { KObject } from './types.ts';


/** What a decrypted value stands in for: opaque, but of the type SOPS recorded. */
const placeholder = (type: string, base64: boolean): unknown => {
  if (type === 'int') return 0;
  if (type === 'float') return 0.5;
  if (type === 'bool') return false;
  return base64 ? Buffer.from('sops-decrypted').toString('base64') : 'sops-decrypted';
};

const replace = (value: unknown, base64: boolean): unknown => {
  if (typeof value === 'string') {
    const m = ENC.exec(value);
    return m ? placeholder(m[4], base64) : value;
  }
  if (Array.isArray(value)) return value.map((v) => replace(v, base64));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, replace(v, base64)]));
  }
  return value;
};

export const isSopsEncrypted = (obj: KObject): boolean => obj && typeof obj.sops === 'object' && obj.sops !== null;

/** Flux after decryption: the `sops` block is gone and each encrypted value is an opaque stand-in. */
export const simulateDecryption = (obj: KObject): KObject => {
  const { sops: _sops, ...rest } = obj;
  const out = replace(rest, false) as KObject;
  if (obj.kind === 'Secret' && rest.data && typeof rest.data === 'object') out.data = replace(rest.data, true);
  return out;
};
