// Single sign-on wiring across the two clusters: Authentik's blueprints (infra), the ExternalSecrets that
// feed both sides from one 1Password item per client, and the SecurityPolicies and routes (apps) that
// must name the same issuer, redirect URI and client.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parse, type CollectionTag, type ScalarTag } from 'yaml';
import { validateRepository } from '../src/validate/pipeline.ts';
import type { KObject } from '../src/validate/types.ts';
import { CACHE, ROOT, SCHEMAS } from './helpers.ts';

const test = suite('sso');

const AUTHENTIK = 'clusters/infra/apps/identity/authentik/app';
const ISSUER_BASE = 'https://auth.monosense.dev/application/o/';

/** Authentik's YAML tags (!Find, !Env, !KeyOf, ...) read as `{ tag, args }`, scalar or sequence form. */
interface Tagged {
  tag: string;
  args: unknown[];
}
const TAGS = ['!Find', '!Env', '!KeyOf', '!Context', '!Format', '!If', '!Condition'];
const customTags: (ScalarTag | CollectionTag)[] = TAGS.flatMap((tag) => [
  { tag, resolve: (value: string): Tagged => ({ tag, args: [value] }) },
  { tag, collection: 'seq' as const, resolve: (seq: any): Tagged => ({ tag, args: seq.toJSON() }) },
]);
const isTag = (v: unknown, tag: string): v is Tagged => typeof v === 'object' && v !== null && (v as Tagged).tag === tag;

const blueprintFiles = (): string[] => parse(readFileSync(join(ROOT, AUTHENTIK, 'kustomization.yaml'), 'utf8')).configMapGenerator.find((g: KObject) => g.name === 'authentik-blueprints').files;

const blueprints = () =>
  blueprintFiles().map((file) => {
    const doc = parse(readFileSync(join(ROOT, AUTHENTIK, file), 'utf8'), { customTags });
    const entries: KObject[] = doc.entries;
    const providers = entries.filter((e) => e.model === 'authentik_providers_oauth2.oauth2provider');
    const apps = entries.filter((e) => e.model === 'authentik_core.application');
    assert.is(providers.length, 1, `${file}: one provider`);
    assert.is(apps.length, 1, `${file}: one application`);
    return { file, provider: providers[0], app: apps[0] };
  });

let rendered: Awaited<ReturnType<typeof validateRepository>>['results'] | undefined;
const cluster = async (name: string): Promise<KObject[]> => {
  rendered ??= (await validateRepository({ repo: ROOT, schemaDirs: SCHEMAS, cacheDir: CACHE })).results;
  return rendered.find((r) => r.cluster.name === name)!.resources.map((r) => r.obj);
};
const one = (objects: KObject[], kind: string, name: string, namespace?: string): KObject => {
  const found = objects.filter((o) => o.kind === kind && o.metadata?.name === name && (!namespace || o.metadata?.namespace === namespace));
  assert.is(found.length, 1, `${kind} ${namespace ?? '*'}/${name}`);
  return found[0];
};

/** `secretKey` -> `item.property` of an ExternalSecret's `data`. */
const remoteRefs = (es: KObject): Record<string, string> =>
  Object.fromEntries((es.spec.data ?? []).map((d: KObject) => [d.secretKey, `${d.remoteRef.key}.${d.remoteRef.property}`]));

test('every blueprint is mounted, and reads its client from the 1Password item authentik-oidc-<slug>', async () => {
  const infra = await cluster('infra');
  const release = one(infra, 'HelmRelease', 'authentik', 'identity');
  assert.equal(release.spec.values.blueprints.configMaps, ['authentik-blueprints']);
  const configMap = one(infra, 'ConfigMap', 'authentik-blueprints', 'identity');
  const files = blueprintFiles();
  assert.equal(Object.keys(configMap.data).sort(), files.map((f) => f.split('/').pop()).sort());

  const oidc = one(infra, 'ExternalSecret', 'authentik-oidc', 'identity');
  assert.ok(release.spec.values.worker.envFrom.some((e: KObject) => e.secretRef?.name === oidc.spec.target.name), 'the worker takes the clients as environment');
  const refs = remoteRefs(oidc);
  const slugs = [];
  for (const { file, provider, app } of blueprints()) {
    const slug = app.identifiers.slug;
    slugs.push(slug);
    assert.ok(isTag(app.attrs.provider, '!KeyOf') && app.attrs.provider.args[0] === provider.id, `${file}: the application uses the provider`);
    for (const [attr, field] of [['client_id', 'client_id'], ['client_secret', 'client_secret']]) {
      const value = provider.attrs[attr];
      assert.ok(isTag(value, '!Env'), `${file}: ${attr} comes from the environment`);
      assert.is(refs[String(value.args[0])], `authentik-oidc-${slug}.${field}`, `${file}: ${attr}`);
    }
    assert.equal(provider.attrs.grant_types, ['authorization_code', 'refresh_token'], `${file}: grants (a blueprint's provider has none by default)`);
    assert.ok(provider.attrs.redirect_uris.every((u: KObject) => u.matching_mode === 'strict' && u.url.startsWith('https://')), file);
  }
  // The issuer Grafana is configured with: https://auth.monosense.dev/application/o/grafana/
  assert.ok(slugs.includes('grafana'));
  assert.equal(Object.keys(refs).length, slugs.length * 2, 'no client without a blueprint');
});

test('Authentik answers at the issuer host, on the external Gateway', async () => {
  const infra = await cluster('infra');
  const route = one(infra, 'HTTPRoute', 'authentik', 'identity');
  assert.equal(route.spec.hostnames, [new URL(ISSUER_BASE).host]);
  assert.is(route.spec.parentRefs[0].name, 'external');
  const service = route.spec.rules[0].backendRefs[0].name;
  assert.is(service, 'authentik-server', 'the chart names the server Service <release>-server');
});

test('each SecurityPolicy on apps names its blueprint\'s issuer, redirect URI and client, and guards its route', async () => {
  const apps = await cluster('apps');
  const bySlug = new Map(blueprints().map((b) => [b.app.identifiers.slug, b]));
  const policies = apps.filter((o) => o.kind === 'SecurityPolicy' && o.spec?.oidc);
  assert.equal(policies.map((p) => p.metadata.name).sort(), ['n8n', 'odoo']);
  for (const policy of policies) {
    const { oidc } = policy.spec;
    const slug = oidc.provider.issuer.slice(ISSUER_BASE.length).replace(/\/$/, '');
    assert.is(oidc.provider.issuer, `${ISSUER_BASE}${slug}/`, policy.metadata.name);
    const blueprint = bySlug.get(slug);
    assert.ok(blueprint, `${policy.metadata.name}: no blueprint for the application ${slug}`);
    assert.equal(blueprint!.provider.attrs.redirect_uris.map((u: KObject) => u.url), [oidc.redirectURL], `${policy.metadata.name}: redirect URI`);
    assert.is(oidc.provider.endSessionEndpoint, `${ISSUER_BASE}${slug}/end-session/`);
    for (const url of [oidc.provider.authorizationEndpoint, oidc.provider.tokenEndpoint]) assert.ok(url.startsWith(ISSUER_BASE), url);

    const ns = policy.metadata.namespace;
    const secretName = oidc.clientSecret.name;
    assert.is(oidc.clientIDRef.name, secretName);
    const es = apps.find((o) => o.kind === 'ExternalSecret' && o.metadata.namespace === ns && o.spec.target.name === secretName);
    assert.ok(es, `${policy.metadata.name}: no ExternalSecret makes ${secretName}`);
    // Envoy Gateway reads the keys client-id and client-secret.
    assert.equal(remoteRefs(es!), { 'client-id': `authentik-oidc-${slug}.client_id`, 'client-secret': `authentik-oidc-${slug}.client_secret` });

    const [target] = policy.spec.targetRefs;
    const route = one(apps, 'HTTPRoute', target.name, ns);
    assert.equal(route.spec.hostnames, [new URL(oidc.redirectURL).host], `${policy.metadata.name}: the callback comes back through the guarded route`);
  }
});

test('the apps cluster\'s Gateway proxies may reach the token endpoint, and nothing else outside the cluster', async () => {
  const apps = await cluster('apps');
  const policy = one(apps, 'CiliumNetworkPolicy', 'envoy-proxy', 'networking');
  const outside = policy.spec.egress.filter((e: KObject) => e.toFQDNs || e.toEntities || e.toCIDR || e.toCIDRSet);
  assert.equal(outside, [{ toFQDNs: [{ matchName: new URL(ISSUER_BASE).host }], toPorts: [{ ports: [{ port: '443', protocol: 'TCP' }] }] }]);
  const dns = policy.spec.egress.find((e: KObject) => e.toPorts?.some((p: KObject) => p.rules?.dns));
  assert.ok(dns, 'the DNS proxy sees the proxies\' lookups, so the name resolves to an allowed address');
});

test.run();
