// The program behind every stub executable on PATH in the end-to-end script runs: the same answers as the
// in-process fakes (tests/fakes/cli-tools.ts), over a real process boundary.
import { readFileSync } from 'node:fs';
import { answer } from '../fakes/cli-tools.ts';

const [tool, ...args] = process.argv.slice(2);
const readsStdin = tool === 'kubectl' && (args.includes('-') || args.includes('--filename=-'));
const input = readsStdin ? readFileSync(0, 'utf8') : '';
const r = await answer(tool, args, process.env, input);
process.stdout.write(r.stdout);
process.stderr.write(r.stderr);
process.exitCode = r.code;
