// 1Password items as `op item get --format json` prints them, and the one way the scripts change them:
// `op item edit --template`, so that a value never appears on a command line.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UserError } from '../../src/lib/errors.ts';
import { run } from '../../src/lib/exec.ts';

interface ItemField {
  id?: string;
  label?: string;
  type?: string;
  value?: string;
}

const parseItem = (itemJson: string, item: string): { fields?: ItemField[] } & Record<string, unknown> => {
  try {
    return JSON.parse(itemJson);
  } catch {
    throw new UserError(`op item get ${item} did not print JSON`);
  }
};

const named = (field: ItemField, name: string): boolean => field?.label === name || field?.id === name;

/** The value of a field, or undefined when the item has no such field (or it is empty). */
export const fieldValue = (itemJson: string, field: string, item: string): string | undefined => {
  const value = (parseItem(itemJson, item).fields ?? []).find((f) => named(f, field))?.value;
  return value === undefined || value === '' ? undefined : String(value);
};

/** The item with one existing field's value replaced; a field it lacks is an error naming the ones it has. */
export const withFieldValue = (itemJson: string, field: string, value: string, item: string): string => {
  const doc = parseItem(itemJson, item);
  const target = (doc.fields ?? []).find((f) => named(f, field));
  if (!target) throw new UserError(`1Password item ${item} has no field ${field} (it has ${(doc.fields ?? []).map((f) => f.label ?? f.id).join(', ') || 'none'})`);
  target.value = value;
  return JSON.stringify(doc);
};

/** The item with each field set: an existing one gets the value, a missing one is added, concealed. */
export const withFields = (itemJson: string, values: Record<string, string>, item: string): string => {
  const doc = parseItem(itemJson, item);
  const fields = (doc.fields ??= []);
  for (const [name, value] of Object.entries(values)) {
    const target = fields.find((f) => named(f, name));
    if (target) target.value = value;
    else fields.push({ id: name, label: name, type: 'CONCEALED', value });
  }
  return JSON.stringify(doc);
};

export const getItem = (item: string, vault: string): Promise<string> => run('op', ['item', 'get', item, '--vault', vault, '--format', 'json', '--reveal']);

/** Writes the item back from a template file only this user can read, removed afterwards. */
export const editItem = async (item: string, vault: string, itemJson: string): Promise<void> => {
  const dir = mkdtempSync(join(tmpdir(), 'k8s-ops-op-'));
  const template = join(dir, 'item.json');
  try {
    writeFileSync(template, itemJson, { mode: 0o600 });
    await run('op', ['item', 'edit', item, '--vault', vault, '--template', template]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
};
