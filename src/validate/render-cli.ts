import { mkdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { stringify } from 'yaml';
import { entryPoint, parseFlags } from '../lib/cli.ts';
import { contain } from '../lib/contain.ts';
import { writeAtomically } from '../lib/fsutil.ts';
import { EXIT } from '../lib/errors.ts';
import { io } from '../lib/io.ts';
import { commonFlags, progressPrinter } from './args.ts';
import { prepare, simulateAll } from './pipeline.ts';
import { Locator } from './locate.ts';
import { findingLine, resolveLines } from './report.ts';

const USAGE = `usage: npm run render -- --out DIR [--cluster NAME | --path DIR] [--repo DIR]

Writes each Flux Kustomization's final manifests (after build, decryption and substitution) as one
multi-document YAML file, DIR/<namespace>/<name>.yaml (DIR/<cluster>/... when several clusters render).`;

export const main = async (argv: string[]): Promise<number> => {
  const args = parseFlags(argv, USAGE, { ...commonFlags, out: { type: 'string', required: true, description: 'the folder to write into' } });
  if (!args) return EXIT.ok;
  const prepared = await prepare({ cluster: args.cluster, path: args.path, repo: args.repo, cacheDir: args['cache-dir'], noCache: args['no-cache'] });
  const progress = progressPrinter(args.quiet);
  const simulated = await simulateAll(prepared, progress.update);
  progress.done();
  const locator = new Locator(prepared.repoRoot, prepared.ctx.cacheDir);
  let failed = false;
  const out = resolve(args.out!);
  mkdirSync(out, { recursive: true });
  for (const { cluster, sim } of simulated) {
    const base = prepared.clusters.length > 1 ? join(out, cluster.name) : out;
    for (const built of sim.kustomizations) {
      const file = outputFile(out, base, built.ks);
      if (typeof file !== 'string') {
        const obj = { apiVersion: 'kustomize.toolkit.fluxcd.io/v1', kind: 'Kustomization', metadata: { name: built.ks.name } };
        sim.findings.push({ file: built.ks.origin?.file ?? cluster.entry, rule: 'invalid-name', message: `Kustomization ${built.ks.namespace}/${built.ks.name}: ${file.reason}: not written`, severity: 'error', at: { obj, path: ['metadata', file.field] } });
        continue;
      }
      mkdirSync(dirname(file), { recursive: true });
      const text = built.resources.map((r) => stringify(r.obj, { lineWidth: 0 })).join('---\n');
      // A rename replaces a symlink in the way rather than writing where it leads.
      writeAtomically(file, text);
    }
    for (const f of resolveLines(sim.findings, locator).filter((x) => x.severity === 'error')) {
      failed = true;
      io().err(`${findingLine(f)}\n`);
    }
    io().err(`${cluster.name}: ${sim.kustomizations.length} Kustomizations rendered to ${base}\n`);
  }
  return failed ? EXIT.refused : EXIT.ok;
};

/** Kubernetes' own syntax for a namespace (a DNS label) and an object name (a DNS subdomain): no `/`, no `..`. */
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/**
 * `<base>/<namespace>/<name>.yaml`, from names the repository chose: each must be a Kubernetes name, and the
 * file must land inside the output folder once symlinks there are followed.
 */
const outputFile = (out: string, base: string, ks: { namespace: string; name: string }): string | { reason: string; field: string } => {
  if (!DNS_LABEL.test(ks.namespace) || ks.namespace.length > 63) return { reason: `namespace ${JSON.stringify(ks.namespace)} is not a Kubernetes namespace name`, field: 'namespace' };
  if (!DNS_SUBDOMAIN.test(ks.name) || ks.name.length > 253) return { reason: `name ${JSON.stringify(ks.name)} is not a Kubernetes object name`, field: 'name' };
  const file = join(base, ks.namespace, `${ks.name}.yaml`);
  const inside = contain(out, file);
  return inside.inside ? file : { reason: `${relative(out, file)} ${inside.how === 'symlink' ? `is under a symlink to ${inside.real}, outside` : 'leaves'} the output folder`, field: 'name' };
};

entryPoint(import.meta.url, main);
