import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

const write = (root: string, path: string, text: string) => {
  mkdirSync(dirname(join(root, path)), { recursive: true });
  writeFileSync(join(root, path), text);
};

const ks = (name: string, path: string, extra = '') => `apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: ${name}
  namespace: flux-system
spec:
  path: ${path}
  sourceRef:
    kind: GitRepository
    name: flux-system
${extra}  postBuild:
    substitute:
      APP: ${name}
    substituteFrom:
      - kind: ConfigMap
        name: cluster-vars
  interval: 1h
  prune: true
`;

/** A repository of `apps` apps shared by `clusters` clusters, in our layout, for timing the validator. */
export const writeSyntheticRepo = (root: string, apps: number, clusters: number): void => {
  const namespaces = Math.max(1, Math.ceil(apps / 10));
  for (let c = 1; c <= clusters; c++) {
    const flux = `clusters/c${c}/flux`;
    write(root, `${flux}/kustomization.yaml`, 'resources:\n  - vars.yaml\n  - source.yaml\n  - apps.yaml\n');
    write(root, `${flux}/vars.yaml`, `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cluster-vars\n  namespace: flux-system\ndata:\n  CLUSTER_NAME: c${c}\n  CLUSTER_DOMAIN: c${c}.example.dev\n`);
    write(root, `${flux}/source.yaml`, 'apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: flux-system\n  namespace: flux-system\nspec:\n  interval: 1h\n  url: https://example.com/repo\n  ref:\n    branch: main\n');
    write(root, `${flux}/apps.yaml`, ks('cluster-apps', './kubernetes/apps'));
  }
  write(root, 'kubernetes/apps/kustomization.yaml', `resources:\n${Array.from({ length: namespaces }, (_, n) => `  - ns${n}\n`).join('')}`);
  for (let n = 0; n < namespaces; n++) {
    const members = Array.from({ length: apps }, (_, a) => a).filter((a) => a % namespaces === n);
    write(root, `kubernetes/apps/ns${n}/kustomization.yaml`, `resources:\n  - namespace.yaml\n${members.map((a) => `  - app${a}/ks.yaml\n`).join('')}`);
    write(root, `kubernetes/apps/ns${n}/namespace.yaml`, `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ns${n}\n`);
    for (const a of members) {
      const dir = `kubernetes/apps/ns${n}/app${a}`;
      write(root, `${dir}/ks.yaml`, ks(`app${a}`, `./${dir}/app`, `  targetNamespace: ns${n}\n`));
      write(root, `${dir}/app/kustomization.yaml`, 'resources:\n  - ocirepository.yaml\n  - helmrelease.yaml\n  - ciliumnetworkpolicy.yaml\n');
      write(root, `${dir}/app/ocirepository.yaml`, 'apiVersion: source.toolkit.fluxcd.io/v1\nkind: OCIRepository\nmetadata:\n  name: ${APP}\nspec:\n  interval: 1h\n  url: oci://ghcr.io/stefanprodan/charts/podinfo\n  ref:\n    tag: 6.9.0\n');
      write(root, `${dir}/app/helmrelease.yaml`, 'apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: ${APP}\nspec:\n  interval: 1h\n  chartRef:\n    kind: OCIRepository\n    name: ${APP}\n  install:\n    remediation:\n      retries: 3\n  upgrade:\n    remediation:\n      retries: 3\n      strategy: rollback\n  values:\n    ingress:\n      hosts:\n        - host: ${APP}.${CLUSTER_DOMAIN}\n');
      write(root, `${dir}/app/ciliumnetworkpolicy.yaml`, 'apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata:\n  name: ${APP}\nspec:\n  endpointSelector:\n    matchLabels:\n      app.kubernetes.io/name: ${APP}\n  ingress:\n    - fromEndpoints:\n        - {}\n');
    }
  }
};
