import { UserError } from '../../src/lib/errors.ts';
import { FILE_RULES } from '../../src/validate/repo-files.ts';
import { findingLine, uniqueFindings } from '../../src/validate/report.ts';
import { SOPS_FILE } from '../../src/validate/sops-files.ts';
import { validateScratch } from '../../src/validate/scratch.ts';
import { writePlan, type Plan } from './plan.ts';

/** Refuses a plan that would leave any affected cluster with an error; one validator run for all of them. */
export const verifyPlan = async (repoRoot: string, plan: Plan): Promise<void> => {
  const one = plan.clusters.length === 1 ? plan.clusters[0] : undefined;
  const fluxFiles = plan.changes.filter((c) => /(^|\/)ks\.ya?ml$/.test(c.path)).map((c) => c.path);
  // The files the plan writes that are not Kubernetes objects (a talconfig, a helmfile, a SOPS file, the
  // answers) are checked too; all SOPS files when it changes the rules in .sops.yaml.
  const written = plan.changes.filter((c) => !c.remove).map((c) => c.path);
  const repoFiles = written.includes('.sops.yaml') || written.filter((p) => FILE_RULES.some((r) => r.matches(p)) || SOPS_FILE.test(p));
  const { results } = await validateScratch(repoRoot, (scratch) => writePlan(scratch, plan), { cluster: one, prewarm: fluxFiles, repoFiles });
  for (const result of results.filter((r) => plan.clusters.includes(r.cluster.name))) {
    const errors = uniqueFindings([result]).filter((f) => f.severity === 'error');
    if (errors.length) {
      throw new UserError(
        `${plan.target} would leave cluster ${result.cluster.name} invalid; nothing was written:\n${errors.map((f) => `  ${findingLine(f)}`).join('\n')}`,
        1,
      );
    }
  }
};
