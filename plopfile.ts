import type { NodePlopAPI } from 'plop';
import { register } from './generators/lib/run.ts';

// Each generator is generators/<name>.ts + templates/<name>/ + schemas/<name>.schema.json. The menu's lines
// live here so that `npx plop app` loads the app generator alone.
const generators: Record<string, string> = {
  app: 'a HelmRelease app with its Flux Kustomization, network policy, route, secrets, database and backups',
  cluster: 'a Talos cluster run by Flux: flux entry point, cluster-vars, talconfig and patches, bootstrap helmfiles',
  component: 'a reusable Kustomize component in kubernetes/components/<name>/, checked through a sample app',
  runbook: 'an operational runbook in docs/runbooks/, linked from docs/index.md',
};

export default function (plop: NodePlopAPI): void {
  for (const [name, description] of Object.entries(generators)) {
    register(plop, name, description, () => import(`./generators/${name}.ts`).then((m) => m.generator));
  }
}
