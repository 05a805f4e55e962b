import { entryPoint, parseFlags } from '../lib/cli.ts';
import { EXIT } from '../lib/errors.ts';
import { io } from '../lib/io.ts';
import { commonFlags, formatFlag, progressPrinter } from '../validate/args.ts';
import { prepare, simulateAll } from '../validate/pipeline.ts';
import { findingLine as validatorFinding } from '../validate/report.ts';
import { auditCluster } from './netpol.ts';
import { formatAudit } from './netpol-report.ts';

const USAGE = `usage: npm run netpol-audit -- [--cluster NAME] [--repo DIR] [--format text|json] [--quiet]

Network-policy audit, offline, from what Flux would apply: every namespace with its tier and
whether the cluster-wide default deny covers it, and what each Cilium policy allows. Exit 1 when a
tier-2 namespace that runs workloads is not covered by default deny or has no CiliumNetworkPolicy
(or when the repository does not build), 2 on usage errors.`;

export const main = async (argv: string[]): Promise<number> => {
  const { cluster, repo, quiet } = commonFlags;
  const args = parseFlags(argv, USAGE, { cluster, repo, 'cache-dir': commonFlags['cache-dir'], quiet, format: formatFlag });
  if (!args) return EXIT.ok;
  const format = (args.format ?? 'text') as 'text' | 'json';
  const prepared = await prepare({ cluster: args.cluster, repo: args.repo, cacheDir: args['cache-dir'] });
  const progress = progressPrinter(args.quiet || format === 'json');
  const simulated = await simulateAll(prepared, progress.update);
  progress.done();
  // An audit of a tree that does not build would miss whatever failed: say so and fail.
  const broken = simulated.flatMap(({ sim }) => sim.findings.filter((f) => f.severity === 'error'));
  for (const f of broken) io().err(`${validatorFinding(f)}\n`);
  const audits = simulated.map(({ cluster, sim }) => auditCluster(cluster.name, sim.resources, prepared.config));
  io().out(`${formatAudit(audits, format)}\n`);
  return broken.length || audits.some((a) => a.findings.length) ? EXIT.refused : EXIT.ok;
};

entryPoint(import.meta.url, main);
