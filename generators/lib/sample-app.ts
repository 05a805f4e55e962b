import { findingLine, uniqueFindings } from '../../src/validate/report.ts';
import { addSampleApp, type SampleApp } from '../../src/validate/sample-app.ts';
import { validateScratch } from '../../src/validate/scratch.ts';
import type { Finding } from '../../src/validate/types.ts';
import { writePlan, type FileChange } from './plan.ts';

export type { SampleApp };

/**
 * Validates `changes` (a new component) as an app would use it, in a scratch copy of the tree: the
 * real tree is never touched. Returns the error findings, empty when the component is clean.
 */
export const validateThroughSampleApp = async (root: string, changes: FileChange[], app: SampleApp): Promise<Finding[]> => {
  const { results } = await validateScratch(root, (scratch) => {
    writePlan(scratch, { target: 'component', changes, clusters: [] });
    addSampleApp(scratch, app);
  });
  return uniqueFindings(results).filter((f) => f.severity === 'error');
};

export const describeFindings = (findings: Finding[]): string => findings.map((f) => `  ${findingLine(f)}`).join('\n');
