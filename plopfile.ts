import type { NodePlopAPI } from 'plop';

// Generators (app, component, cluster, runbook) register here; each lives in generators/<name>.ts.
export default function (_plop: NodePlopAPI): void {}
