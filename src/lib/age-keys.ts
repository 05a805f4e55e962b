// The glue between SOPS and age: a SOPS data key is an armored age file for each recipient. The age format
// itself is the age authors' TypeScript implementation (age-encryption).
import { Decrypter, Encrypter, armor, generateX25519Identity, identityToRecipient } from 'age-encryption';
import { UserError } from './errors.ts';

const IDENTITY = /^AGE-SECRET-KEY-(PQ-)?1[0-9A-Z]+$/;

/** The identities in a keys.txt (one per line, `#` comments), as `age -i` and SOPS_AGE_KEY read them. */
export const parseIdentities = (text: string): string[] => {
  const lines = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  for (const l of lines) if (!IDENTITY.test(l)) throw new UserError('not an age identity (AGE-SECRET-KEY-1...)');
  return lines;
};

/** Refuses anything `age` would not take as a recipient, naming it. */
export const checkRecipient = (recipient: string): void => {
  try {
    new Encrypter().addRecipient(recipient);
  } catch {
    throw new UserError(`not an age recipient: ${recipient.slice(0, 12)}...`);
  }
};

/** A new X25519 identity and its recipient, as `age-keygen` prints them. */
export const generateIdentity = async (): Promise<{ identity: string; recipient: string }> => {
  const identity = await generateX25519Identity();
  return { identity, recipient: await identityToRecipient(identity) };
};

/** Encrypts to one recipient, ASCII-armored as SOPS stores it under `sops.age[].enc`. */
export const encryptTo = async (plain: Uint8Array, recipient: string): Promise<string> => {
  checkRecipient(recipient);
  const e = new Encrypter();
  e.addRecipient(recipient);
  return armor.encode(await e.encrypt(plain));
};

/** Decrypts an armored age file with the first identity that opens it; undefined when none does. */
export const decryptWith = async (armored: string, identities: string[]): Promise<Uint8Array | undefined> => {
  const d = new Decrypter();
  for (const identity of identities) d.addIdentity(identity);
  try {
    return await d.decrypt(armor.decode(armored));
  } catch {
    return undefined;
  }
};
