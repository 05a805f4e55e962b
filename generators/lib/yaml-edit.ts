import { Document, isMap, isScalar, isSeq, parseDocument } from 'yaml';
import { UserError } from '../../src/lib/errors.ts';

const load = (path: string, text: string): Document.Parsed => {
  const doc = parseDocument(text);
  if (doc.errors.length) throw new UserError(`${path}:${doc.errors[0].linePos?.[0].line ?? 1}: cannot edit, invalid YAML: ${doc.errors[0].message.split('\n')[0]}`);
  return doc;
};

/**
 * YAML of `value` with a `# renovate: ...` comment above each annotated field (dotted path -> comment
 * text), so that Renovate's regex manager updates the answers in the same pull request as the files
 * rendered from them: otherwise the drift test would fail on every update.
 */
export const yamlWithRenovate = (value: unknown, annotations: Record<string, string>): string => {
  const doc = new Document(value);
  for (const [path, comment] of Object.entries(annotations)) {
    const keys = path.split('.');
    const parent = doc.getIn(keys.slice(0, -1), true);
    const pair = isMap(parent) ? parent.items.find((p: any) => p.key?.value === keys[keys.length - 1]) : undefined;
    if (pair && isScalar(pair.key)) pair.key.commentBefore = ` renovate: ${comment}`;
  }
  return doc.toString({ lineWidth: 0 }).trimEnd();
};

const POD_SECURITY = 'pod-security.kubernetes.io/enforce';
const PERMISSIVENESS = ['restricted', 'baseline', 'privileged'];

/**
 * Raises a Namespace's Pod Security level to `level` unless it already allows as much; comments and
 * order survive, and an unchanged file comes back as it was.
 */
export const allowPodSecurity = (path: string, text: string, level: string): string => {
  const doc = load(path, text);
  const current = doc.getIn(['metadata', 'labels', POD_SECURITY]);
  if (typeof current === 'string' && PERMISSIVENESS.indexOf(current) >= PERMISSIVENESS.indexOf(level)) return text;
  doc.setIn(['metadata', 'labels', POD_SECURITY], level);
  return doc.toString({ lineWidth: 0 });
};

/**
 * Adds `entry` to a kustomization's `resources`, once, through the yaml Document API so comments and
 * order survive. Kept sorted after the entries that are not of the same kind (namespace.yaml first).
 */
export const addResource = (path: string, text: string, entry: string): string => {
  const doc = load(path, text);
  let seq = doc.get('resources', true);
  if (!seq) {
    doc.set('resources', doc.createNode([]));
    seq = doc.get('resources', true);
  }
  if (!isSeq(seq)) throw new UserError(`${path}: resources is not a list`);
  const items = seq.items.map((i: any) => String(i?.value ?? i));
  const norm = (s: string) => s.replace(/^\.\//, '');
  if (items.some((i) => norm(i) === norm(entry))) return text;
  seq.flow = false;
  const sameKind = (s: string) => norm(s).endsWith('ks.yaml') === norm(entry).endsWith('ks.yaml') && !norm(s).endsWith('namespace.yaml');
  let at = items.length;
  for (let i = 0; i < items.length; i++) {
    if (sameKind(items[i]) && norm(items[i]).localeCompare(norm(entry)) > 0) {
      at = i;
      break;
    }
  }
  seq.items.splice(at, 0, doc.createNode(entry) as any);
  return doc.toString({ lineWidth: 0 });
};
