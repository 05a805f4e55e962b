import { runMain, UserError } from '../lib/errors.ts';
import { parseCli, progressPrinter } from '../validate/args.ts';
import { prepare, simulateAll } from '../validate/pipeline.ts';
import { findingLine as validatorFinding } from '../validate/report.ts';
import { auditCluster } from './netpol.ts';
import { formatAudit } from './netpol-report.ts';

const USAGE = `usage: npm run netpol-audit -- [--cluster NAME] [--repo DIR] [--format text|json] [--quiet]

Network-policy audit (FR24), offline, from what Flux would apply: every namespace with its tier and
whether the cluster-wide default deny covers it, and what each Cilium policy allows. Exit 1 when a
tier-2 namespace that runs workloads is not covered by default deny or has no CiliumNetworkPolicy
(or when the repository does not build), 2 on usage errors.`;

runMain(async () => {
  const args = parseCli(process.argv.slice(2), {
    cluster: { type: 'string' },
    repo: { type: 'string' },
    format: { type: 'string' },
    'cache-dir': { type: 'string' },
    quiet: { type: 'boolean', short: 'q' },
    help: { type: 'boolean', short: 'h' },
  });
  if (args.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const format = args.format ?? 'text';
  if (format !== 'text' && format !== 'json') throw new UserError(`--format ${format}: must be text or json`);
  const prepared = await prepare({ cluster: args.cluster, repo: args.repo, cacheDir: args['cache-dir'] });
  const progress = progressPrinter(args.quiet || format === 'json');
  const simulated = await simulateAll(prepared, progress.update);
  progress.done();
  // An audit of a tree that does not build would miss whatever failed: say so and fail.
  const broken = simulated.flatMap(({ sim }) => sim.findings.filter((f) => f.severity === 'error'));
  for (const f of broken) process.stderr.write(`${validatorFinding(f)}\n`);
  const audits = simulated.map(({ cluster, sim }) => auditCluster(cluster.name, sim.resources, prepared.config));
  process.stdout.write(`${formatAudit(audits, format)}\n`);
  return broken.length || audits.some((a) => a.findings.length) ? 1 : 0;
});
