import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { UserError } from '../src/lib/errors.ts';
import { isDir, isFile } from '../src/lib/fsutil.ts';
import type { Answers } from './lib/answers.ts';
import { settle, type Plan } from './lib/plan.ts';
import { render } from '../src/lib/templates.ts';
import type { RepoFacts } from './lib/repo.ts';
import type { Generator } from './lib/run.ts';
import { describeFindings, validateThroughSampleApp, type SampleApp } from './lib/sample-app.ts';
import { LAYOUT } from '../src/lib/layout.ts';

const G = 'component';
export const LIBRARY = LAYOUT.components;

/** What each scaffolded kind is, for the README's table. */
const KINDS: Record<string, { kind: string; name: (slug: string) => string; purpose: string }> = {
  configmap: { kind: 'ConfigMap', name: (s) => `\${APP}-${s}`, purpose: "the component's settings (every variable), for the app's `envFrom`" },
  externalsecret: {
    kind: 'ExternalSecret',
    name: (s) => `\${APP}-${s}-secret`,
    purpose: 'every field of the 1Password item named after the app, through the ClusterSecretStore `onepassword`',
  },
  ciliumnetworkpolicy: { kind: 'CiliumNetworkPolicy', name: (s) => `\${APP}-${s}`, purpose: "what the app's pods may reach for this component: DNS, and what you add" },
};

const isComponent = (dir: string) => isFile(join(dir, 'kustomization.yaml'));

/** Components below a folder, as names relative to the library. */
const componentsUnder = (root: string, name: string): string[] => {
  const out: string[] = [];
  const visit = (rel: string) => {
    const dir = join(root, LIBRARY, rel);
    if (!isDir(dir)) return;
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (!e.isDirectory()) continue;
      const child = `${rel}/${e.name}`;
      if (isComponent(join(root, LIBRARY, child))) out.push(child);
      visit(child);
    }
  };
  visit(name);
  return out.sort();
};

const check = (a: Answers, repo: RepoFacts): void => {
  // A component inside another, or one that would wrap others, is a folder nobody can read at a glance.
  const parts = a.name.split('/');
  for (let i = 1; i < parts.length; i++) {
    const parent = parts.slice(0, i).join('/');
    if (isComponent(join(repo.root, LIBRARY, parent))) {
      throw new UserError(`answers.name: ${LIBRARY}/${parent} is a component; put ${a.name} beside it, not inside (got "${a.name}")`);
    }
  }
  const below = componentsUnder(repo.root, a.name);
  if (below.length) {
    throw new UserError(`answers.name: ${LIBRARY}/${a.name} already holds the components ${below.join(', ')}; choose a name beside them, like ${a.name}/<variant> (got "${a.name}")`);
  }
  const fromCluster = new Set(repo.clusters.flatMap((c) => Object.keys(c.vars)));
  const seen = new Set<string>();
  for (const [i, v] of (a.variables as Answers[]).entries()) {
    const field = `answers.variables[${i}].name`;
    if (v.name === 'APP') throw new UserError(`${field}: APP is set by every app's ks.yaml; it is not a knob (got "APP")`);
    if (fromCluster.has(v.name)) throw new UserError(`${field}: ${v.name} comes from cluster-vars; use \${${v.name}} in the resources as it is, it is not a knob (got "${v.name}")`);
    if (seen.has(v.name)) throw new UserError(`${field}: ${v.name} is listed twice`);
    seen.add(v.name);
    // kustomize drops the quotes before Flux substitutes, so "0" lands in ConfigMap data as a number.
    if (a.resources.includes('configmap') && v.default !== undefined && typeof parse(v.default) !== 'string') {
      throw new UserError(
        `answers.variables[${i}].default: must read as a YAML string to sit in the ConfigMap: Flux substitutes after kustomize has dropped the quotes, so it would become ${JSON.stringify(parse(v.default))} (got ${JSON.stringify(v.default)})`,
      );
    }
  }
};

/** The sample app the new component is built through: every required variable gets a value. */
export const sampleFor = (a: Answers): SampleApp => ({
  namespace: 'component-sample',
  name: 'component-sample',
  components: [a.name],
  substitute: Object.fromEntries((a.variables as Answers[]).filter((v) => v.default === undefined).map((v) => [v.name, 'sample'])),
});

/** The files of the component, rendered from the answers (before settling against the disk). */
export const componentFiles = (a: Answers): { path: string; after: string; owned: boolean }[] => {
  const slug = a.name.replace(/\//g, '-');
  const variables = (a.variables as Answers[]).map((v) => ({
    ...v,
    required: v.default === undefined,
    expr: v.default === undefined ? `\${${v.name}}` : `\${${v.name}:=${v.default}}`,
    defaultCell: v.default === undefined ? '(required)' : v.default === '' ? '(empty)' : `\`${v.default}\``,
    cell: String(v.description).replace(/\|/g, '\\|'),
  }));
  const resources = [...a.resources].sort();
  const created = resources.map((r) => ({ kind: KINDS[r].kind, name: KINDS[r].name(slug), purpose: KINDS[r].purpose }));
  // The answers as given, in the schema's order, so that the file reads like the README's example.
  const kept = {
    name: a.name,
    description: a.description,
    variables: (a.variables as Answers[]).map((v) => ({ name: v.name, ...(v.default === undefined ? {} : { default: v.default }), description: v.description })),
    resources: a.resources,
  };
  const ctx = { ...a, slug, variables, resources, created, answers: stringify(kept, { lineWidth: 0 }).trimEnd() };
  const dir = `${LIBRARY}/${a.name}`;
  const file = (name: string, template = name) => ({ path: `${dir}/${name}`, after: render(G, template, ctx), owned: true });
  return [
    file('kustomization.yaml'),
    file('README.md'),
    ...resources.map((r) => file(`${r}.yaml`)),
    file('.answers.yaml', 'answers.yaml'),
  ];
};

const plan = async (a: Answers, repo: RepoFacts): Promise<Plan> => {
  const changes = settle(repo.root, componentFiles(a));
  const result: Plan = { target: `component ${a.name}`, changes, clusters: repo.clusters.map((c) => c.name) };
  if (changes.length === 0) return result;
  // No Flux Kustomization builds a component on its own, so validating the would-be tree proves
  // nothing: build it through a throwaway app instead, in a scratch copy, before anything is written.
  const errors = await validateThroughSampleApp(repo.root, changes, sampleFor(a));
  if (errors.length) {
    throw new UserError(`${result.target} does not validate when an app uses it; nothing was written:\n${describeFindings(errors)}`, 1);
  }
  return result;
};

export const generator: Generator = {
  name: G,
  check,
  plan,
  // The component is validated in plan(), through a sample app: no cluster builds it as it is.
  verify: false,
};
