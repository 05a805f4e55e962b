// `gh api` for repository rulesets, answering as GitHub's REST API does: the list (summaries, no rules),
// create (POST, 201, names unique), update (PUT by id), 404 and 422 with gh's own exit code and message.
// The rules are checked as the API checks them: a known type, and the parameters that type requires.
import type { Command, CommandResult } from '../../src/lib/exec.ts';
import type { Call } from './cli-tools.ts';

export interface StoredRuleset {
  id: number;
  name: string;
  [key: string]: unknown;
}

/** The repository gh finds from the checkout's remote when a path says {owner}/{repo}. */
export const CURRENT_REPO = 'monosense/k8s-ops';
/** GitHub Actions, the app the default GITHUB_TOKEN belongs to. */
const GITHUB_ACTIONS_APP_ID = 15368;

const REQUIRED_PARAMETERS: Record<string, string[]> = {
  creation: [],
  deletion: [],
  non_fast_forward: [],
  required_linear_history: [],
  required_signatures: [],
  update: [],
  pull_request: ['dismiss_stale_reviews_on_push', 'require_code_owner_review', 'require_last_push_approval', 'required_approving_review_count', 'required_review_thread_resolution'],
  required_status_checks: ['required_status_checks', 'strict_required_status_checks_policy'],
};

export const fakeGh = (repos: Record<string, StoredRuleset[]> = {}) => {
  const calls: Call[] = [];
  let nextId = 100;
  const reply = (status: number, body: unknown, message = ''): CommandResult =>
    status < 300 ? { code: 0, stdout: `${JSON.stringify(body)}\n`, stderr: '' } : { code: 1, stdout: `${JSON.stringify(body)}\n`, stderr: `gh: ${message} (HTTP ${status})\n` };
  const invalid = (why: string) => reply(422, { message: 'Invalid request', errors: [why], status: '422' }, 'Invalid request');

  const checkBody = (body: any): string | undefined => {
    if (typeof body?.name !== 'string' || !body.name) return 'Invalid property /name: is missing';
    if (!['branch', 'tag', 'push'].includes(body.target ?? 'branch')) return `Invalid property /target: "${body.target}" is not a possible value`;
    if (!['active', 'evaluate', 'disabled'].includes(body.enforcement)) return `Invalid property /enforcement: "${body.enforcement}" is not a possible value`;
    for (const [i, rule] of (body.rules ?? []).entries()) {
      const needs = REQUIRED_PARAMETERS[rule?.type];
      if (!needs) return `Invalid property /rules/${i}/type: "${rule?.type}" is not a possible value`;
      for (const p of needs) if (rule.parameters?.[p] === undefined) return `Invalid property /rules/${i}/parameters: "${p}" is missing`;
    }
    for (const [i, a] of (body.bypass_actors ?? []).entries()) {
      if (!['Integration', 'OrganizationAdmin', 'RepositoryRole', 'Team', 'DeployKey'].includes(a?.actor_type)) return `Invalid property /bypass_actors/${i}/actor_type`;
      // The app behind every workflow's GITHUB_TOKEN is not installed on any repository, so it cannot bypass.
      if (a.actor_type === 'Integration' && a.actor_id === GITHUB_ACTIONS_APP_ID) return 'Actor GitHub Actions integration must be part of the ruleset source or owner organization';
      if (a.actor_type === 'DeployKey' && a.actor_id !== null && a.actor_id !== undefined) return `Invalid property /bypass_actors/${i}/actor_id: must be null for a deploy key`;
    }
    return undefined;
  };

  const exec = async (c: Command): Promise<CommandResult> => {
    if (c.cmd !== 'gh') return { code: 127, stdout: '', stderr: `${c.cmd}: command not found\n` };
    calls.push(c.input === undefined ? { tool: 'gh', args: c.args } : { tool: 'gh', args: c.args, stdin: c.input });
    const args = [...c.args];
    if (args.shift() !== 'api') return { code: 1, stdout: '', stderr: 'unknown command\n' };
    const methodAt = args.indexOf('--method');
    const method = methodAt >= 0 ? args.splice(methodAt, 2)[1] : 'GET';
    const inputAt = args.indexOf('--input');
    if (inputAt >= 0) args.splice(inputAt, 2);
    const path = args.find((a) => !a.startsWith('-'))!.replace('{owner}/{repo}', CURRENT_REPO).split('?')[0];
    const m = /^repos\/([^/]+\/[^/]+)\/rulesets(?:\/(\d+))?$/.exec(path);
    if (!m) return reply(404, { message: 'Not Found', status: '404' }, 'Not Found');
    const list = (repos[m[1]] ??= []);
    const id = m[2] ? Number(m[2]) : undefined;
    let body: any;
    if (method !== 'GET') {
      try {
        body = JSON.parse(c.input ?? '');
      } catch {
        return reply(400, { message: 'Problems parsing JSON', status: '400' }, 'Problems parsing JSON');
      }
    }
    const full = (r: StoredRuleset) => ({ ...r, source_type: 'Repository', source: m[1], node_id: `RRS_${r.id}`, _links: { self: { href: `https://api.github.com/${path}` } } });
    if (method === 'GET' && id === undefined) {
      return reply(200, list.map((r) => ({ id: r.id, name: r.name, target: r.target, source_type: 'Repository', source: m[1], enforcement: r.enforcement, node_id: `RRS_${r.id}` })));
    }
    if (method === 'POST' && id === undefined) {
      const why = checkBody(body);
      if (why) return invalid(why);
      if (list.some((r) => r.name === body.name)) return invalid('Name must be unique');
      const created = { ...body, id: nextId++ };
      list.push(created);
      return reply(201, full(created));
    }
    const at = list.findIndex((r) => r.id === id);
    if (at < 0) return reply(404, { message: 'Not Found', status: '404' }, 'Not Found');
    if (method === 'GET') return reply(200, full(list[at]));
    if (method === 'PUT') {
      const why = checkBody({ ...list[at], ...body });
      if (why) return invalid(why);
      if (list.some((r) => r.name === body.name && r.id !== id)) return invalid('Name must be unique');
      list[at] = { ...list[at], ...body, id: id! };
      return reply(200, full(list[at]));
    }
    return reply(404, { message: 'Not Found', status: '404' }, 'Not Found');
  };
  return { exec, calls, repos };
};
