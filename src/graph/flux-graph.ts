import { isFluxKustomization, type BuiltKustomization, type KObject, type Resource } from '../validate/types.ts';

/**
 * A cluster's Flux Kustomization tree as a Mermaid flowchart: which Kustomization applies which (solid),
 * what each waits for (dependsOn, dotted), where each builds from, and the source when it is not the
 * cluster's own GitRepository.
 */
export interface FluxGraph {
  cluster: string;
  nodes: { id: string; name: string; path: string; source?: string; external: boolean }[];
  applies: [from: string, to: string][];
  dependsOn: [from: string, to: string][];
}

const key = (namespace: string, name: string) => `${namespace}/${name}`;
const nodeId = (k: string) => k.replace(/^flux-system\//, '').replace(/[^A-Za-z0-9]/g, '_');

const sourceOf = (spec: KObject): string | undefined => {
  const ref = spec.sourceRef ?? {};
  return ref.kind === 'GitRepository' && ref.name === 'flux-system' ? undefined : `${ref.kind ?? '?'} ${ref.namespace ? `${ref.namespace}/` : ''}${ref.name ?? '?'}`;
};

export const fluxGraph = (cluster: string, kustomizations: BuiltKustomization[], resources: Resource[]): FluxGraph => {
  const built = new Map(kustomizations.map((k) => [key(k.ks.namespace, k.ks.name), k.ks]));
  const declared = resources.filter((r) => isFluxKustomization(r.obj));
  const all = new Map<string, { name: string; spec: KObject; appliedBy?: string }>();
  for (const [k, ks] of built) all.set(k, { name: ks.name, spec: ks.spec });
  for (const r of declared) {
    const k = key(r.obj.metadata?.namespace ?? 'flux-system', r.obj.metadata?.name);
    all.set(k, { name: r.obj.metadata?.name, spec: r.obj.spec ?? {}, appliedBy: r.appliedBy });
  }
  const sorted = [...all.keys()].sort();
  return {
    cluster,
    nodes: sorted.map((k) => {
      const { name, spec } = all.get(k)!;
      const source = sourceOf(spec);
      return { id: nodeId(k), name, path: String(spec.path ?? '.'), source, external: Boolean(source) && !built.has(k) };
    }),
    applies: sorted.filter((k) => all.get(k)!.appliedBy && all.get(k)!.appliedBy !== k && all.has(all.get(k)!.appliedBy!)).map((k) => [nodeId(all.get(k)!.appliedBy!), nodeId(k)]),
    dependsOn: sorted.flatMap((k) => {
      const { spec } = all.get(k)!;
      const ns = k.split('/')[0];
      return (Array.isArray(spec.dependsOn) ? spec.dependsOn : [])
        .map((d: KObject) => key(d.namespace ?? ns, d.name))
        .filter((d: string) => all.has(d))
        .map((d: string): [string, string] => [nodeId(k), nodeId(d)]);
    }),
  };
};

const label = (n: FluxGraph['nodes'][number]) =>
  `"${n.name}<br/><small>${n.path}${n.source ? `<br/>from ${n.source}${n.external ? ', not followed offline' : ''}` : ''}</small>"`;

/** The graph as a Mermaid flowchart (left to right). */
export const toMermaid = (g: FluxGraph): string =>
  [
    'flowchart LR',
    ...g.nodes.map((n) => `  ${n.id}[${label(n)}]`),
    ...g.applies.map(([a, b]) => `  ${a} --> ${b}`),
    ...g.dependsOn.map(([a, b]) => `  ${a} -. dependsOn .-> ${b}`),
  ].join('\n');

/** The page docs/clusters/<cluster>.md holds: the picture and how to make it again. */
export const graphPage = (g: FluxGraph): string =>
  `# The ${g.cluster} cluster's Flux Kustomizations

Made by \`npm run graph -- --cluster ${g.cluster} --write\` from the repository as the validator renders it; a
test fails when this page no longer matches the repository. Solid arrows: the Kustomization that applies
another; dotted arrows: \`dependsOn\` (the arrow points at what is waited for). Each box names the folder
it builds.

\`\`\`mermaid
${toMermaid(g)}
\`\`\`
`;
