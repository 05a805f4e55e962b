// The program behind every stub executable on PATH in the end-to-end runs. It hands its call to the test
// process that made the stubs (tests/cli-stubs.ts), which answers with the in-process fakes
// (tests/fakes/cli-tools.ts): the same answers, over a real process boundary. Plain JavaScript, so that a
// stub call starts node without a TypeScript loader.
import { readFileSync } from 'node:fs';
import { request } from 'node:http';

const [socketPath, tool, ...args] = process.argv.slice(2);
const readsStdin = tool === 'kubectl' && (args.includes('-') || args.includes('--filename=-'));
const input = readsStdin ? readFileSync(0, 'utf8') : '';
const req = request({ socketPath, path: '/', method: 'POST' }, (res) => {
  let body = '';
  res.setEncoding('utf8');
  res.on('data', (chunk) => (body += chunk));
  res.on('end', () => {
    const r = JSON.parse(body);
    process.stdout.write(r.stdout);
    process.stderr.write(r.stderr);
    process.exitCode = r.code;
  });
});
req.on('error', (e) => {
  process.stderr.write(`${tool} (stub): the test that made it is gone: ${e.message}\n`);
  process.exitCode = 127;
});
req.end(JSON.stringify({ tool, args, env: process.env, input }));
