import type { Finding, Severity } from './types.ts';

/**
 * `flux`: Flux, kustomize or the API server would reject it, or would silently mis-handle it.
 * `house`: this repository's conventions.
 */
export type RuleTag = 'flux' | 'house';

export interface Rule {
  tag: RuleTag;
  /** The severity its findings usually have; `rules:` in validator.config.yaml can change it. */
  severity: Severity;
  description: string;
}

const flux = (description: string, severity: Severity = 'error'): Rule => ({ tag: 'flux', severity, description });
const house = (description: string, severity: Severity = 'error'): Rule => ({ tag: 'house', severity, description });

/** Every rule a finding can name. */
export const RULES = {
  yaml: flux('a manifest or another file read does not parse as YAML'),
  build: flux("kustomize fails to build a Kustomization's path"),
  'path-missing': flux("a Kustomization's spec.path does not exist"),
  'component-missing': flux('a component a Kustomization lists does not exist'),
  'source-not-followed': flux('a Kustomization builds from another source than this repository: not followed', 'warning'),
  'outside-repository': flux("a spec.path, component or file a kustomization names leads outside the repository (symlinks followed): not read, as Flux refuses it"),
  'remote-not-followed': flux('a kustomization names a remote resource or base: not fetched, so that Kustomization is not built', 'warning'),
  'plugin-not-followed': flux('a generator, transformer or validator given as a kustomization folder: the files its built configurations name are unknown before a build, so that Kustomization is not built', 'warning'),
  'yaml-limit': flux('a YAML file too large, not a regular file, or an alias bomb: refused unread'),
  'build-limit': flux('a kustomize build over its time limit, memory cap or output size: stopped'),
  'invalid-name': flux('(render) a namespace or name that is not a Kubernetes name: its output file is not written'),
  substitute: flux("a substitution Flux's parser rejects or fails on, or an invalid variable name"),
  'unresolved-variable': flux('a variable with no value and no default (Flux would quietly write an empty string)'),
  'substitute-from': flux('a postBuild.substituteFrom ConfigMap or Secret that nothing creates'),
  'sops-decryption': flux('a SOPS-encrypted manifest applied by a Kustomization without spec.decryption'),
  schema: flux('an object (or a file with a published schema) does not match its schema'),
  'schema-missing': flux('no schema for a kind: an error for this repository, a warning with --path unless --strict'),
  namespace: flux('a namespaced object without a namespace, so it lands in "default"', 'warning'),
  'namespace-missing': flux("an object's namespace, or a Kustomization's targetNamespace, is created nowhere"),
  'source-ref': flux("a Kustomization's sourceRef does not exist"),
  'depends-on': flux('a dependsOn target does not exist, so the dependant waits forever'),
  'depends-on-cycle': flux('dependsOn forms a cycle, so none of them is ever applied'),
  'chart-source': flux("a HelmRelease's chart source does not exist"),
  'values-from': flux("a HelmRelease's valuesFrom ConfigMap or Secret that nothing creates"),
  'secret-store': flux("an ExternalSecret's store does not exist"),
  'gateway-ref': flux("a route's parent Gateway does not exist"),
  'storage-class': flux('a storage class that nothing creates'),
  'duplicate-id': flux('two objects with one identity in a cluster: their Kustomizations fight over it'),
  'pin-missing': flux('(--online) a pinned chart version, OCI tag or image does not exist'),
  'pin-unchecked': flux('(--online) a registry could not be asked whether a pin exists', 'warning'),

  'api-version': house('an apiVersion other than the one the stack pins, or a deprecated kind or field'),
  'kebab-case': house('names are kebab-case'),
  'label-prefix': house('custom labels and annotations carry the house prefix'),
  'helmrelease-remediation': house('HelmReleases retry a failed install 3 times and roll a failed upgrade back'),
  'pinned-version': house('charts, OCI sources and images pinned to an exact version or digest'),
  'plaintext-secret': house('no Secret with data outside a SOPS-encrypted file'),
  'secret-refresh': house('ExternalSecrets refresh at least every secretRefreshMax'),
  'cluster-vars': house('every Kustomization that substitutes takes substituteFrom ConfigMap cluster-vars'),
  'kustomization-yml': house('kustomization files are named kustomization.yaml'),
  'network-policy': house('a tier-2 namespace that runs workloads has a CiliumNetworkPolicy of its own'),
  'network-cut-off': house('a workload under default deny that no policy allows anything is cut off'),
  'default-deny': house('(netpol-audit) the cluster-wide default deny covers every tier-2 namespace that runs workloads'),
  'resource-budget': house("a group of namespaces' workloads stay within its budget and set memory limits"),
  'sops-unreadable': house('a *.sops.yaml file sops cannot read'),
  'sops-rule': house('a *.sops.yaml file that no .sops.yaml creation rule covers'),
  'sops-unencrypted': house('a value .sops.yaml says must be encrypted is plain text'),
  'sops-recipients': house('a *.sops.yaml file not encrypted for every recipient .sops.yaml names'),
  'alert-expr': house("an alerting or recording rule's expression parses as PromQL"),
  'dashboard-json': house('a Grafana dashboard is a JSON object'),
  'dashboard-uid': house('a Grafana dashboard has a unique uid'),
  'dashboard-cluster-variable': house('a Grafana dashboard has a cluster variable'),
  'dashboard-query': house("a dashboard's queries parse as PromQL"),
  'dashboard-metric': house("a dashboard's metrics are produced by a scrape object"),
  'dashboard-metrics': house('the metrics catalogue beside the dashboards is well formed'),
  'dashboard-datasource': house("a dashboard's datasources are provisioned"),
} satisfies Record<string, Rule>;

export type RuleName = keyof typeof RULES;

export const isRule = (name: string): name is RuleName => Object.hasOwn(RULES, name);

export const ruleTag = (rule: string): RuleTag | undefined => (isRule(rule) ? RULES[rule].tag : undefined);

export type RuleSetting = 'off' | Severity;

export interface RuleOptions {
  /** Run the house rules too (the default for this repository; with --path only when asked). */
  house: boolean;
  /** `rules:` from validator.config.yaml. */
  settings?: Record<string, RuleSetting>;
}

/** The findings the rules in force let through, with the severity the settings give them. */
export const applyRules = (findings: Finding[], opts: RuleOptions): Finding[] =>
  findings.flatMap((f) => {
    const setting = opts.settings?.[f.rule];
    if (setting === 'off') return [];
    if (!opts.house && ruleTag(f.rule) === 'house' && setting === undefined) return [];
    return [setting ? { ...f, severity: setting } : f];
  });
