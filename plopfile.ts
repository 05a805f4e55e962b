import type { NodePlopAPI } from 'plop';
import { register } from './generators/lib/run.ts';

// Each generator is generators/<name>.ts + templates/<name>/ + schemas/<name>.schema.json.
const generators = ['app', 'component', 'cluster', 'runbook'];

export default async function (plop: NodePlopAPI): Promise<void> {
  for (const name of generators) {
    const module = await import(`./generators/${name}.ts`).catch((e) => {
      if (e?.code === 'ERR_MODULE_NOT_FOUND' && String(e.message).includes(`generators/${name}.ts`)) return undefined;
      throw e;
    });
    if (module) register(plop, module.generator);
  }
}
