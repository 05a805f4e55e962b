// Branch protection as code: .github/rulesets/*.json against the workflows' real check names, and
// scripts/github-rulesets.ts (task github:rulesets) in-process against a fake `gh api` that answers as GitHub does.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { invoke } from '../src/lib/cli.ts';
import { main, readRulesets, requiredChecks } from '../scripts/github-rulesets.ts';
import { jobCheckNames, workflowChecks } from '../scripts/lib/workflow-checks.ts';
import { show } from './cli-stubs.ts';
import { CURRENT_REPO, fakeGh, type StoredRuleset } from './fakes/gh.ts';
import { copyPath, ROOT, tempDir } from './helpers.ts';

const test = suite('github-rulesets');

const rulesetFile = (name: string) => JSON.parse(readFileSync(join(ROOT, '.github', 'rulesets', `${name}.json`), 'utf8'));

const apply = (gh: ReturnType<typeof fakeGh>, args: string[] = [], opts: { root?: string; ghOnPath?: boolean } = {}) =>
  invoke(
    main,
    args,
    { env: { K8S_OPS_ROOT: opts.root ?? ROOT }, exec: gh.exec, which: (tool) => (tool === 'gh' && opts.ghOnPath !== false ? '/usr/bin/gh' : undefined) },
    'github-rulesets: ',
  );

test('every required status check is a job, by the name GitHub reports, of a workflow run for pull requests into main', () => {
  const checks = workflowChecks(ROOT);
  const onPullRequests = new Set(checks.filter((c) => c.onPullRequestToMain).map((c) => c.name));
  const required = readRulesets(ROOT).flatMap(({ ruleset }) => requiredChecks(ruleset));
  assert.equal(required, ['Build and validate every kustomization', 'kubeconform (infra)', 'kubeconform (apps)', 'Scan for secrets']);
  for (const name of required) assert.ok(onPullRequests.has(name), `${name} is not reported by any workflow: ${[...onPullRequests].join(', ')}`);
  // The promotion's own job runs on a schedule: it must never be a required check of a pull request.
  assert.ok(checks.some((c) => c.name === 'Promote main to release' && !c.onPullRequestToMain));
});

test('check names: a job\'s name, else its id; a matrix job once per combination', () => {
  assert.equal(jobCheckNames('lint', {}), ['lint']);
  assert.equal(jobCheckNames('lint', { name: 'Lint the code' }), ['Lint the code']);
  assert.equal(jobCheckNames('kc', { name: 'kubeconform (${{ matrix.cluster }})', strategy: { matrix: { cluster: ['infra', 'apps'] } } }), ['kubeconform (infra)', 'kubeconform (apps)']);
  assert.equal(jobCheckNames('test', { strategy: { matrix: { node: [20, 22], os: ['linux'] } } }), ['test (20, linux)', 'test (22, linux)']);
});

test('main: one approval, stale reviews dismissed, code owners, strict checks, no force push, no deletion; release: only the promotion workflow\'s key updates it, fast-forward only', () => {
  const main = rulesetFile('main');
  assert.equal(main.conditions.ref_name.include, ['refs/heads/main']);
  const rule = (r: any, type: string) => r.rules.find((x: any) => x.type === type);
  assert.equal(rule(main, 'pull_request').parameters, {
    required_approving_review_count: 1,
    dismiss_stale_reviews_on_push: true,
    require_code_owner_review: true,
    require_last_push_approval: false,
    required_review_thread_resolution: false,
  });
  assert.is(rule(main, 'required_status_checks').parameters.strict_required_status_checks_policy, true);
  assert.ok(rule(main, 'non_fast_forward') && rule(main, 'deletion'));
  assert.equal(main.bypass_actors, []);
  const release = rulesetFile('release');
  const history = rulesetFile('release-history');
  assert.equal(release.conditions.ref_name.include, ['refs/heads/release']);
  assert.equal(history.conditions.ref_name.include, ['refs/heads/release']);
  // Updates restricted: a deploy key with write access pushes release (the promotion workflow's, the only
  // one that may write: GitHub refuses GitHub Actions, the app of the default token, as a bypass actor); so
  // may the repository's administrators (role 5), who run the same script for the override.
  assert.equal(release.rules.map((r: any) => r.type), ['update']);
  assert.equal(release.bypass_actors, [
    { actor_id: null, actor_type: 'DeployKey', bypass_mode: 'always' },
    { actor_id: 5, actor_type: 'RepositoryRole', bypass_mode: 'always' },
  ]);
  // A bypass covers every rule of its ruleset, so fast-forward only lives in a ruleset of its own that the
  // deploy key cannot bypass: only administrators may move release back (the repair).
  assert.equal(history.rules.map((r: any) => r.type), ['non_fast_forward', 'deletion']);
  assert.equal(history.bypass_actors, [{ actor_id: 5, actor_type: 'RepositoryRole', bypass_mode: 'always' }]);
  const workflow = readFileSync(join(ROOT, '.github', 'workflows', 'release-promote.yaml'), 'utf8');
  assert.match(workflow, 'ssh-key: ${{ secrets.RELEASE_DEPLOY_KEY }}');
  assert.not.match(workflow, 'contents: write');
  // The key is on disk for the whole job: no package's install script runs beside it.
  assert.match(workflow, 'npm ci --no-audit --no-fund --ignore-scripts');
});

test('creates every ruleset in a repository that has none', async () => {
  const gh = fakeGh();
  const r = await apply(gh);
  assert.is(r.code, 0, r.stderr);
  assert.equal(gh.calls.map(show), [
    'gh api repos/{owner}/{repo}/rulesets?per_page=100',
    'gh api --method POST repos/{owner}/{repo}/rulesets --input -',
    'gh api --method POST repos/{owner}/{repo}/rulesets --input -',
    'gh api --method POST repos/{owner}/{repo}/rulesets --input -',
  ]);
  const stored = gh.repos[CURRENT_REPO];
  assert.equal(stored.map((s) => s.name), ['main', 'release-history', 'release']);
  const { id: _id, ...created } = stored[0];
  assert.equal(created, rulesetFile('main'));
  assert.match(r.stdout, 'created ruleset main (100) from .github/rulesets/main.json');
});

test('updates a ruleset of the same name in place and leaves the others alone; a second run changes nothing more', async () => {
  const tags: StoredRuleset = { id: 3, name: 'tags', target: 'tag', enforcement: 'active', rules: [{ type: 'deletion' }] };
  const gh = fakeGh({ [CURRENT_REPO]: [tags, { id: 7, name: 'main', target: 'branch', enforcement: 'evaluate', rules: [{ type: 'deletion' }] }] });
  const r = await apply(gh);
  assert.is(r.code, 0, r.stderr);
  assert.equal(gh.calls.slice(1).map(show), ['gh api --method PUT repos/{owner}/{repo}/rulesets/7 --input -', 'gh api --method POST repos/{owner}/{repo}/rulesets --input -', 'gh api --method POST repos/{owner}/{repo}/rulesets --input -']);
  const stored = gh.repos[CURRENT_REPO];
  assert.equal(stored.find((s) => s.id === 7)!.rules, rulesetFile('main').rules);
  assert.is(stored.find((s) => s.id === 7)!.enforcement, 'active');
  assert.equal(stored.find((s) => s.id === 3), tags);
  const again = await apply(gh);
  assert.is(again.code, 0, again.stderr);
  assert.equal(gh.repos[CURRENT_REPO].map((s) => s.name).sort(), ['main', 'release', 'release-history', 'tags']);
  assert.match(again.stdout, 'updated ruleset main (7)');
  assert.match(again.stdout, 'updated ruleset release-history (100)');
  assert.match(again.stdout, 'updated ruleset release (101)');
});

test('--dry-run asks which rulesets exist and prints the plan, changing nothing; without gh it still prints one', async () => {
  const gh = fakeGh({ [CURRENT_REPO]: [{ id: 7, name: 'main', target: 'branch', enforcement: 'active', rules: [] }] });
  const r = await apply(gh, ['--dry-run', '--repo', 'someone/fork']);
  assert.is(r.code, 0, r.stderr);
  assert.equal(gh.calls.map(show), ['gh api repos/someone/fork/rulesets?per_page=100']);
  assert.match(r.stdout, 'main       .github/rulesets/main.json: create (POST repos/someone/fork/rulesets); pull_request, required_status_checks, non_fast_forward, deletion');
  const own = fakeGh({ [CURRENT_REPO]: [{ id: 7, name: 'main', target: 'branch', enforcement: 'active', rules: [] }] });
  const ownPlan = await apply(own, ['--dry-run']);
  assert.match(ownPlan.stdout, 'main.json: update ruleset 7 (PUT repos/{owner}/{repo}/rulesets/7)');
  assert.match(ownPlan.stdout, 'release.json: create (POST repos/{owner}/{repo}/rulesets); update');
  assert.match(ownPlan.stdout, 'release-history.json: create (POST repos/{owner}/{repo}/rulesets); non_fast_forward, deletion');
  assert.is(own.repos[CURRENT_REPO].length, 1);
  const offline = fakeGh();
  const blind = await apply(offline, ['--dry-run'], { ghOnPath: false });
  assert.is(blind.code, 0, blind.stderr);
  assert.equal(offline.calls, []);
  assert.match(blind.stdout, 'create or update (gh is not on PATH to ask which)');
});

test('a required check that no workflow reports is refused before GitHub is asked anything', async () => {
  const root = tempDir('k8s-ops-rulesets-');
  copyPath(join(ROOT, '.github'), join(root, '.github'));
  const file = join(root, '.github', 'rulesets', 'main.json');
  writeFileSync(file, readFileSync(file, 'utf8').replace('"kubeconform (apps)"', '"kubeconform"'));
  const gh = fakeGh();
  const r = await apply(gh, [], { root });
  assert.is(r.code, 1);
  assert.match(r.stderr, 'github-rulesets: .github/rulesets/main.json: required status check "kubeconform" is not a job of any workflow that runs on pull requests into main (known: ');
  assert.equal(gh.calls, []);
});

test('GitHub refusing a ruleset stops the run with gh\'s exit code; a malformed --repo is a usage error', async () => {
  const root = tempDir('k8s-ops-rulesets-');
  copyPath(join(ROOT, '.github'), join(root, '.github'));
  const file = join(root, '.github', 'rulesets', 'release-history.json');
  writeFileSync(file, readFileSync(file, 'utf8').replace('"non_fast_forward"', '"no_force_push"'));
  const gh = fakeGh();
  const r = await apply(gh, [], { root });
  assert.is(r.code, 1);
  assert.is(r.stderr.trim(), 'github-rulesets: gh api --method POST repos/{owner}/{repo}/rulesets: Invalid request (HTTP 422): Invalid property /rules/0/type: "no_force_push" is not a possible value');
  assert.equal(gh.repos[CURRENT_REPO].map((s) => s.name), ['main']);
  const usage = await apply(fakeGh(), ['--repo', 'not a repo']);
  assert.is(usage.code, 2);
  assert.is(usage.stderr.trim(), 'github-rulesets: --repo not a repo: expected OWNER/NAME');
});

test('GitHub Actions as a bypass actor is refused by GitHub, as the API refuses it', async () => {
  const root = tempDir('k8s-ops-rulesets-');
  copyPath(join(ROOT, '.github'), join(root, '.github'));
  const file = join(root, '.github', 'rulesets', 'release.json');
  writeFileSync(file, readFileSync(file, 'utf8').replace('{ "actor_id": null, "actor_type": "DeployKey", "bypass_mode": "always" }', '{ "actor_id": 15368, "actor_type": "Integration", "bypass_mode": "always" }'));
  const r = await apply(fakeGh(), [], { root });
  assert.is(r.code, 1);
  assert.match(r.stderr, 'Actor GitHub Actions integration must be part of the ruleset source or owner organization');
});

test.run();
