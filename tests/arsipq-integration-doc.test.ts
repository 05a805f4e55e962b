// docs/platform/arsipq-integration.md names only what the infra cluster really has: every host name (a
// route's, a Service's, a monitored external endpoint's), every Secret and every 1Password item is checked
// against the cluster as the validator renders it, so that the page cannot drift from the manifests.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parse, parseAllDocuments } from 'yaml';
import { validateRepository } from '../src/validate/pipeline.ts';
import type { KObject } from '../src/validate/types.ts';
import { ROOT, SCHEMAS } from './helpers.ts';

const test = suite('arsipq integration doc');
const DOC = 'docs/platform/arsipq-integration.md';
const DOMAIN = 'monosense.dev';

// ---------------------------------------------------------------- what the cluster has

interface Known {
  namespaces: Set<string>;
  /** `<name>.<namespace>` of every Service the rendered objects make. */
  services: Set<string>;
  /** `<namespace>/<name>` of every Secret the rendered objects make. */
  secrets: Set<string>;
  /** Host names clients use: routes' and the Gatus endpoints'. */
  hosts: Set<string>;
  /** 1Password items an ExternalSecret reads. */
  items: Set<string>;
}

const ns = (o: KObject): string => String(o.metadata?.namespace ?? '');

/**
 * The Services an object makes, by the naming rules of what runs it: Strimzi (`<kafka>-kafka-bootstrap`,
 * `-kafka-brokers`), the Keycloak Operator (`<name>-service`), CloudNativePG (`<cluster>-rw`, `-ro`, `-r`),
 * the OpenBao chart (`<release>`, `-active`, `-standby`, `-internal`), app-template (one per `service` key:
 * the release's name when there is one Service, else `<release>-<key>`, unless forceRename), and any other
 * chart's Service named after its release.
 */
export const servicesOf = (o: KObject): string[] => {
  const name = String(o.metadata?.name);
  if (o.kind === 'Service') return [name];
  if (o.kind === 'Kafka') return [`${name}-kafka-bootstrap`, `${name}-kafka-brokers`];
  if (o.kind === 'Keycloak') return [o.spec?.http?.serviceName ?? `${name}-service`];
  if (o.kind === 'Cluster' && String(o.apiVersion).startsWith('postgresql.cnpg.io/')) return ['rw', 'ro', 'r'].map((s) => `${name}-${s}`);
  if (o.kind !== 'HelmRelease') return [];
  const chart = o.spec?.chartRef?.name ?? o.spec?.chart?.spec?.chart;
  if (chart === 'openbao') return ['', '-active', '-standby', '-internal'].map((s) => `${name}${s}`);
  if (chart === 'app-template') {
    const services = Object.entries<any>(o.spec?.values?.service ?? {});
    return services.map(([key, s]) => s?.forceRename ?? (services.length === 1 || key === name ? name : `${name}-${key}`));
  }
  return [name];
};

/** The Secrets an object makes: ExternalSecrets' targets, a KafkaUser's credentials, a Kafka's CA certificates. */
export const secretsOf = (o: KObject): string[] => {
  const name = String(o.metadata?.name);
  if (o.kind === 'Secret') return [name];
  if (o.kind === 'ExternalSecret') return [o.spec?.target?.name ?? name];
  if (o.kind === 'KafkaUser' && o.spec?.authentication) return [name];
  if (o.kind === 'Kafka') return [`${name}-cluster-ca-cert`, `${name}-clients-ca-cert`];
  return [];
};

const gatusHosts = (o: KObject): string[] => {
  if (o.kind !== 'ConfigMap' || o.metadata?.labels?.['gatus.io/enabled'] !== 'true') return [];
  return Object.values<string>(o.data ?? {}).flatMap((text) =>
    (parse(text)?.endpoints ?? []).map((e: any) => /^[a-z]+:\/\/([^/:]+)/.exec(String(e.url))?.[1]).filter(Boolean),
  );
};

const knownOf = (objects: KObject[]): Known => {
  const k: Known = { namespaces: new Set(), services: new Set(), secrets: new Set(), hosts: new Set(), items: new Set() };
  for (const o of objects) {
    if (o.kind === 'Namespace') k.namespaces.add(String(o.metadata?.name));
    for (const s of servicesOf(o)) k.services.add(`${s}.${ns(o)}`);
    for (const s of secretsOf(o)) k.secrets.add(`${ns(o)}/${s}`);
    if (o.kind === 'HTTPRoute') for (const h of o.spec?.hostnames ?? []) k.hosts.add(h);
    for (const h of gatusHosts(o)) k.hosts.add(h);
    if (o.kind === 'ExternalSecret') {
      for (const d of o.spec?.data ?? []) k.items.add(d.remoteRef?.key);
      for (const d of o.spec?.dataFrom ?? []) k.items.add(d.extract?.key);
    }
  }
  return k;
};

// ---------------------------------------------------------------- what the page names

interface Mentions {
  /** Host names under the cluster's domain. */
  hosts: Set<string>;
  /** `<service>.<namespace>` written as `<service>.<namespace>.svc[.cluster.local]` or `<service>.<namespace>:<port>`. */
  services: Set<string>;
  secrets: Set<string>;
  items: Set<string>;
}

const SECRET_KEYS = new Set(['secretKeyRef', 'secretRef']);

/** Secret names in the YAML examples: `secretKeyRef.name`, `secretRef.name`, `secret.secretName`. */
const secretsInYaml = (value: unknown, into: Set<string>): void => {
  if (Array.isArray(value)) return value.forEach((v) => secretsInYaml(v, into));
  if (!value || typeof value !== 'object') return;
  for (const [key, v] of Object.entries(value)) {
    if (SECRET_KEYS.has(key) && typeof (v as any)?.name === 'string') into.add((v as any).name);
    if (key === 'secretName' && typeof v === 'string') into.add(v);
    secretsInYaml(v, into);
  }
};

export const mentionsOf = (markdown: string): Mentions => {
  const m: Mentions = { hosts: new Set(), services: new Set(), secrets: new Set(), items: new Set() };
  const escaped = DOMAIN.replace(/\./g, '\\.');
  for (const [, host] of markdown.matchAll(new RegExp(`(?<![\\w.-])((?:[a-z0-9-]+\\.)+${escaped})(?![\\w-])`, 'g'))) m.hosts.add(host);
  for (const [, svc, namespace] of markdown.matchAll(/(?<![\w.-])([a-z0-9-]+)\.([a-z0-9-]+)\.svc(?:\.cluster\.local)?(?![\w-])/g)) m.services.add(`${svc}.${namespace}`);
  for (const [, svc, namespace] of markdown.matchAll(/(?<![\w.-])([a-z0-9-]+)\.([a-z0-9-]+):\d+/g)) m.services.add(`${svc}.${namespace}`);
  for (const [, name] of markdown.matchAll(/\bSecrets? `([a-z0-9][-a-z0-9.]*)`/g)) m.secrets.add(name);
  for (const [, item] of markdown.matchAll(/\b1Password item `([A-Za-z0-9][A-Za-z0-9._-]*)`/g)) m.items.add(item);
  for (const [, block] of markdown.matchAll(/```yaml\n([\s\S]*?)```/g)) {
    for (const doc of parseAllDocuments(block)) secretsInYaml(doc.toJS(), m.secrets);
  }
  return m;
};

// ---------------------------------------------------------------- the checks

let known: Known;
let mentions: Mentions;
let objects: KObject[];

test.before(async () => {
  const { results } = await validateRepository({ repo: ROOT, cluster: 'infra', schemaDirs: SCHEMAS });
  const infra = results.find((r) => r.cluster.name === 'infra')!;
  assert.equal(infra.findings.filter((f) => f.severity === 'error'), [], 'the infra cluster validates');
  objects = infra.resources.map((r) => r.obj);
  known = knownOf(objects);
  mentions = mentionsOf(readFileSync(join(ROOT, DOC), 'utf8'));
});

test('the page is read: it names the platform’s endpoints and credentials', () => {
  for (const host of ['apicurio.monosense.dev', 'keycloak.monosense.dev', 'openbao.monosense.dev', 's3.monosense.dev']) assert.ok(mentions.hosts.has(host), host);
  for (const svc of ['arsipq-kafka-kafka-bootstrap.arsipq-platform', 'keycloak-service.arsipq-platform', 'openbao-active.arsipq-platform', 'apicurio.arsipq-platform']) {
    assert.ok(mentions.services.has(svc), svc);
  }
  for (const secret of ['arsipq-backend', 'arsipq-backend-kafka-secret', 'arsipq-backend-oidc-secret', 'arsipq-backend-pguser-secret', 'arsipq-kafka-cluster-ca-cert']) {
    assert.ok(mentions.secrets.has(secret), secret);
  }
  for (const item of ['arsipq-kafka', 'keycloak', 'openbao']) assert.ok(mentions.items.has(item), item);
});

test('every host name it gives is a route or a monitored endpoint of the infra cluster', () => {
  const missing = [...mentions.hosts].filter((h) => !known.hosts.has(h));
  assert.equal(missing, [], `not routed or checked on infra: ${missing.join(', ')}`);
});

test('every in-cluster address it gives is a Service the infra cluster makes', () => {
  const missing = [...mentions.services].filter((s) => !known.services.has(s));
  assert.equal(missing, [], `no such Service on infra: ${missing.join(', ')}`);
});

test('every Secret it names is made on the infra cluster', () => {
  const names = new Set([...known.secrets].map((s) => s.split('/')[1]));
  const missing = [...mentions.secrets].filter((s) => !names.has(s));
  assert.equal(missing, [], `no such Secret on infra: ${missing.join(', ')}`);
});

test('every 1Password item it names is read by an ExternalSecret', () => {
  const missing = [...mentions.items].filter((i) => !known.items.has(i));
  assert.equal(missing, [], `no ExternalSecret reads: ${missing.join(', ')}`);
});

test('the routes it gives are the only way in: no Ingress, and no Keycloak has its operator make one', () => {
  assert.equal(objects.filter((o) => o.kind === 'Ingress').map((o) => o.metadata?.name), []);
  const keycloaks = objects.filter((o) => o.kind === 'Keycloak');
  assert.ok(keycloaks.length > 0, 'a Keycloak is rendered');
  // The Keycloak Operator creates an Ingress for the server unless spec.ingress.enabled is false.
  for (const k of keycloaks) assert.is(k.spec?.ingress?.enabled, false, `Keycloak ${k.metadata?.name}: spec.ingress.enabled`);
});

test('the checks catch what is not there', () => {
  const wrong = mentionsOf(
    [
      'Kafka at `arsipq-kafka-kafka-bootstrap.arsipq:9092`, the registry at https://registry.monosense.dev,',
      'the Secret `arsipq-frontend-secret` and the 1Password item `minio`.',
      '```yaml\nenv:\n  - valueFrom:\n      secretKeyRef:\n        name: kafka-password\n```',
    ].join('\n'),
  );
  assert.equal([...wrong.services].filter((s) => !known.services.has(s)), ['arsipq-kafka-kafka-bootstrap.arsipq']);
  assert.equal([...wrong.hosts].filter((h) => !known.hosts.has(h)), ['registry.monosense.dev']);
  assert.equal([...wrong.secrets].sort(), ['arsipq-frontend-secret', 'kafka-password']);
  assert.ok([...wrong.secrets].every((s) => ![...known.secrets].some((k) => k.endsWith(`/${s}`))));
  assert.not.ok(known.items.has('minio'));
});

// ---------------------------------------------------------------- OpenBao's snapshot job

const inPlatform = (kind: string, name: string): KObject | undefined =>
  objects.find((o) => o.kind === kind && o.metadata?.name === name && ns(o) === 'arsipq-platform');

test('OpenBao is backed up: a daily Raft snapshot with a token from 1Password, read from a file, uploaded by restic', () => {
  const cron = inPlatform('CronJob', 'openbao-raft-snapshot');
  assert.ok(cron, 'CronJob arsipq-platform/openbao-raft-snapshot is rendered');
  assert.is(cron!.spec.timeZone, 'Asia/Jakarta');
  const pod = cron!.spec.jobTemplate.spec.template.spec;
  const [snapshot] = pod.initContainers;
  const [upload] = pod.containers;
  assert.is(snapshot.image, 'quay.io/openbao/openbao:2.4.4');
  assert.match(snapshot.args[0], /bao operator raft snapshot save \/snapshot\/raft\.snap/);
  assert.ok(known.services.has('openbao-active.arsipq-platform'));
  assert.is(snapshot.env.find((e: any) => e.name === 'BAO_ADDR')?.value, 'http://openbao-active.arsipq-platform.svc.cluster.local:8200');
  // The token is a file of the Secret the ExternalSecret makes from the 1Password item openbao; no container has it in its environment.
  const tokenMount = snapshot.volumeMounts.find((m: any) => snapshot.args[0].includes(`$(cat ${m.mountPath}/`));
  const tokenVolume = pod.volumes.find((v: any) => v.name === tokenMount?.name);
  const secretName = tokenVolume?.secret?.secretName;
  const es = objects.find((o) => o.kind === 'ExternalSecret' && secretsOf(o).includes(secretName) && ns(o) === 'arsipq-platform');
  assert.ok(es, `an ExternalSecret makes the Secret ${secretName}`);
  const tokenKey = tokenVolume.secret.items.find((i: any) => i.path === 'token')?.key;
  const template = es!.spec.target.template.data;
  const field = /\{\{ \.(\w+) \}\}/.exec(template[tokenKey])?.[1];
  assert.equal(es!.spec.data.find((d: any) => d.secretKey === field)?.remoteRef, { key: 'openbao', property: 'BAO_SNAPSHOT_TOKEN' });
  for (const c of [snapshot, upload]) {
    assert.not.ok((c.env ?? []).some((e: any) => e.name === 'BAO_TOKEN' || e.valueFrom?.secretKeyRef?.key === tokenKey), `${c.name}: no token in the environment`);
    assert.is(c.envFrom, undefined, `${c.name}: no whole Secret in the environment`);
    assert.equal(c.securityContext, { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
    assert.ok(c.resources?.limits?.memory, `${c.name}: a memory limit`);
  }
  assert.equal(pod.securityContext.seccompProfile, { type: 'RuntimeDefault' });
  assert.ok(pod.securityContext.runAsNonRoot);
  // restic takes each credential from that Secret's template, and the repository is the cluster's VolSync bucket.
  for (const e of upload.env.filter((e: any) => e.valueFrom)) {
    assert.is(e.valueFrom.secretKeyRef.name, secretName);
    assert.ok(template[e.valueFrom.secretKeyRef.key], e.name);
  }
  assert.match(template.RESTIC_REPOSITORY, /r2\.cloudflarestorage\.com\/k8s-ops-volsync-infra\/openbao-raft"?$/);
  assert.equal(es!.spec.dataFrom, [{ extract: { key: 'volsync-r2' } }]);
  assert.match(upload.args[0], /--keep-daily 7 --keep-weekly 4/);
});

test('the snapshot job may reach the OpenBao leader and R2, and OpenBao admits it', () => {
  const label = 'openbao-raft-snapshot';
  const egress = inPlatform('CiliumNetworkPolicy', label);
  assert.equal(egress?.spec.endpointSelector, { matchLabels: { 'app.kubernetes.io/name': label } });
  const rules = egress!.spec.egress;
  assert.ok(rules.some((r: any) => r.toEndpoints?.[0]?.matchLabels?.['app.kubernetes.io/name'] === 'openbao' && r.toPorts[0].ports[0].port === '8200'));
  assert.ok(rules.some((r: any) => r.toFQDNs?.[0]?.matchPattern === '*.r2.cloudflarestorage.com' && r.toPorts[0].ports[0].port === '443'));
  assert.is(rules.length, 3, 'DNS, OpenBao and R2, nothing more');
  const openbao = inPlatform('CiliumNetworkPolicy', 'openbao');
  const admits = openbao!.spec.ingress.filter((r: any) => r.fromEndpoints?.some((e: any) => e.matchLabels?.['app.kubernetes.io/name'] === label));
  assert.equal(admits.map((r: any) => r.toPorts.flatMap((t: any) => t.ports.map((p: any) => p.port))), [['8200']]);
});

test('what the objects make follows their operators and charts', () => {
  const hr = (name: string, chart: string, values: object): KObject => ({ apiVersion: 'helm.toolkit.fluxcd.io/v2', kind: 'HelmRelease', metadata: { name }, spec: { chartRef: { name: chart }, values } });
  assert.equal(servicesOf(hr('apicurio', 'app-template', { service: { app: { forceRename: 'apicurio' }, ui: {} } })), ['apicurio', 'apicurio-ui']);
  assert.equal(servicesOf(hr('web', 'app-template', { service: { app: {} } })), ['web']);
  assert.equal(servicesOf(hr('openbao', 'openbao', {})), ['openbao', 'openbao-active', 'openbao-standby', 'openbao-internal']);
  assert.equal(servicesOf({ apiVersion: 'k8s.keycloak.org/v2alpha1', kind: 'Keycloak', metadata: { name: 'keycloak' } }), ['keycloak-service']);
  assert.equal(secretsOf({ apiVersion: 'kafka.strimzi.io/v1beta2', kind: 'KafkaUser', metadata: { name: 'u' }, spec: { authentication: { type: 'scram-sha-512' } } }), ['u']);
  assert.equal(secretsOf({ apiVersion: 'kafka.strimzi.io/v1beta2', kind: 'KafkaUser', metadata: { name: 'u' }, spec: {} }), []);
});

test.run();
