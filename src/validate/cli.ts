import { entryPoint, parseFlags } from '../lib/cli.ts';
import { EXIT } from '../lib/errors.ts';
import { io } from '../lib/io.ts';
import { commonFlags, formatFlag, progressPrinter } from './args.ts';
import { validateRepository } from './pipeline.ts';
import { formatReport, type ReportFormat } from './report.ts';

const USAGE = `usage: npm run validate -- [--cluster NAME] [--path DIR] [--repo DIR] [--schema-dir DIR]... [--crd-dir DIR]...
                         [--kubernetes-version X.Y.Z] [--house] [--strict] [--format text|json|github]
                         [--cache-dir DIR] [--no-cache] [--online] [--quiet]

Simulates Flux for every cluster (clusters/*/flux/) or for the entry folder given with --path, offline,
checks the component library (kubernetes/components/, each component through a sample app; not with
--path), and reports findings as path:line: rule [flux|house]: message. Exit 0 clean, 1 on findings,
2 on usage errors or when no schema can be had at all.

Every rule is tagged flux (Flux, kustomize or the API server would reject it or silently mis-handle it)
or house (this repository's conventions). With --path only the flux rules run unless --house is given,
and a kind without a schema is a warning unless --strict is given.

--online  then asks the Helm repositories and OCI registries (anonymously) whether every pinned chart
          version, OCIRepository ref and image tag or digest exists: a missing one is an error
          (pin-missing), a host that cannot be asked a warning (pin-unchecked).`;

export const main = async (argv: string[]): Promise<number> => {
  const args = parseFlags(argv, USAGE, {
    ...commonFlags,
    format: { ...formatFlag, values: ['text', 'json', 'github'], description: 'how findings are printed (github: GitHub Actions annotations)' },
    'crd-dir': { type: 'string', multiple: true, description: 'a folder of CustomResourceDefinition YAML files: their schemas check their custom resources, before the schema folders; repeatable' },
    'kubernetes-version': { type: 'string', description: 'the Kubernetes version whose built-in schemas to use (default: kubernetesVersion in validator.config.yaml)' },
    house: { type: 'boolean', description: 'with --path, run the house rules too' },
    strict: { type: 'boolean', description: 'with --path, a kind without a schema is an error' },
    online: { type: 'boolean', description: 'also ask the registries whether every pinned chart and image exists' },
  });
  if (!args) return EXIT.ok;
  const format = (args.format ?? 'text') as ReportFormat;
  const progress = progressPrinter(args.quiet || format !== 'text');
  const { repoRoot, results, treeKey, schemaDirs } = await validateRepository({
    cluster: args.cluster,
    path: args.path,
    repo: args.repo,
    schemaDirs: args['schema-dir'].length ? args['schema-dir'] : undefined,
    cacheDir: args['cache-dir'],
    noCache: args['no-cache'],
    repoFiles: !args.path,
    crdDirs: args['crd-dir'],
    kubernetesVersion: args['kubernetes-version'],
    house: args.house || undefined,
    strict: args.strict || undefined,
    progress: progress.update,
  });
  // A folder given with --path is a tree of its own: the library check is for this repository's layout.
  const library = args.path
    ? undefined
    : await (await import('./components.ts')).checkComponentLibrary(repoRoot, {
        results,
        treeKey,
        cluster: args.cluster,
        schemaDirs,
        cacheDir: args['cache-dir'],
        noCache: args['no-cache'],
        crdDirs: args['crd-dir'],
        kubernetesVersion: args['kubernetes-version'],
        progress: progress.update,
      });
  const checked = args.online ? await (await import('./online.ts')).checkPinsOnline(repoRoot, results, library, { progress: progress.update }) : { results, library };
  progress.done();
  io().out(`${formatReport(checked.results, format, checked.library)}\n`);
  return [...checked.results, ...(checked.library ? [checked.library] : [])].some((r) => r.findings.some((f) => f.severity === 'error')) ? EXIT.refused : EXIT.ok;
};

entryPoint(import.meta.url, main);
