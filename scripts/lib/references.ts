import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { walkFiles } from '../../src/lib/fsutil.ts';

export interface Reference {
  file: string;
  line: number;
  text: string;
}

/** Every place outside the cluster's own folders that names it. */
export const findReferences = (root: string, cluster: string): Reference[] => {
  const own = [`clusters/${cluster}/`, `bootstrap/${cluster}/`];
  const patterns = [
    new RegExp(`\\b(clusters|bootstrap)/${cluster}(/|\\b)`),
    new RegExp(`--cluster[ =]${cluster}\\b`),
    new RegExp(`\\bCLUSTER=${cluster}\\b`),
    new RegExp(`--context[ =]${cluster}\\b`),
    new RegExp(`kubeContext: ${cluster}\\b`),
  ];
  const refs: Reference[] = [];
  for (const abs of walkFiles(root)) {
    const file = abs.slice(root.length + 1);
    if (own.some((o) => file.startsWith(o)) || file.startsWith('tests/') || !/\.(ya?ml|md|json5?|ts|tpl|gotmpl|tf|sh)$|Taskfile/.test(file)) continue;
    const text = readFileSync(abs, 'utf8');
    text.split('\n').forEach((line, i) => {
      if (patterns.some((p) => p.test(line))) refs.push({ file, line: i + 1, text: line.trim() });
    });
    if (file.startsWith('.github/workflows/')) {
      const matrices = JSON.stringify(parse(text)?.jobs ?? {});
      if (new RegExp(`"matrix":\\{[^}]*"${cluster}"`).test(matrices) && !refs.some((r) => r.file === file)) {
        refs.push({ file, line: 1, text: `a job matrix lists ${cluster}` });
      }
    }
  }
  return refs;
};
