import type { FlagSpec } from '../lib/cli.ts';

/** The flags every validator entry point (validate, render, netpol-audit) understands. */
export const commonFlags = {
  cluster: { type: 'string', description: 'only this cluster (clusters/<name>/flux/)' },
  path: { type: 'string', description: "a Flux entry folder of any repository, as flux-local's --path" },
  repo: { type: 'string', description: 'the repository root (default: the current folder)' },
  'schema-dir': { type: 'string', multiple: true, description: 'a JSON-Schema folder in kubeconform layout; repeatable' },
  'cache-dir': { type: 'string', description: 'where renders, verdicts and compiled schemas are kept (default .cache/k8s-ops)' },
  'no-cache': { type: 'boolean', description: 'read and write no cache' },
  quiet: { type: 'boolean', short: 'q', description: 'no progress line on stderr' },
} as const satisfies Record<string, FlagSpec>;

export const formatFlag = { type: 'string', values: ['text', 'json'], description: 'how findings are printed' } as const satisfies FlagSpec;

/** Progress goes to stderr: one rewritten line on a terminal, nothing when piped. */
export const progressPrinter = (quiet?: boolean) => {
  if (quiet || !process.stderr.isTTY) return { update: (_: string) => {}, done: () => {} };
  return {
    update: (m: string) => process.stderr.write(`\r\x1b[K${m}`),
    done: () => process.stderr.write('\r\x1b[K'),
  };
};
