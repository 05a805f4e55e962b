// The process that starts the others (spawner.ts says why). Plain JavaScript, so node starts it without
// tsx. Each message is one command; the answers are its pid, then its exit and output.
import { spawn } from 'node:child_process';

const reply = (message) => process.connected && process.send(message);

process.on('message', (job) => {
  const { id, cmd, args, cwd, env, input, stream, detached, background, outputLimit, errorLimit } = job;
  let child;
  try {
    child = spawn(cmd, args, {
      cwd,
      env,
      detached,
      stdio: background ? 'ignore' : [input === undefined ? 'ignore' : 'pipe', stream ? 'inherit' : 'pipe', stream ? 'inherit' : 'pipe'],
    });
  } catch (e) {
    return reply({ id, done: true, code: null, signal: null, stdout: '', stderr: '', error: e.code ?? String(e.message) });
  }
  if (background) {
    child.on('error', () => {});
    child.unref();
    return reply({ id, done: true, code: 0, signal: null, stdout: '', stderr: '', pid: child.pid });
  }
  reply({ id, pid: child.pid });

  const out = [];
  const err = [];
  let outBytes = 0;
  let errBytes = 0;
  let overflow = false;
  let error;
  let finished = false;
  child.stdout?.on('data', (chunk) => {
    if (overflow) return;
    outBytes += chunk.length;
    if (outputLimit !== undefined && outBytes > outputLimit) {
      overflow = true;
      kill(child, detached);
    } else out.push(chunk);
  });
  child.stderr?.on('data', (chunk) => {
    if (errorLimit !== undefined && errBytes >= errorLimit) return;
    errBytes += chunk.length;
    err.push(chunk);
  });
  if (input !== undefined) {
    // A command that exits without reading its input closes the pipe: that is its answer, not an error.
    child.stdin.on('error', () => {});
    child.stdin.end(input);
  }
  const finish = (code, signal) => {
    if (finished) return;
    finished = true;
    reply({ id, done: true, code, signal, error, overflow, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') });
  };
  child.on('error', (e) => {
    error = e.code ?? String(e.message);
    // Never started: no close follows.
    if (child.pid === undefined) finish(null, null);
  });
  child.on('close', finish);
});

const kill = (child, group) => {
  try {
    if (group) process.kill(-child.pid, 'SIGKILL');
    else child.kill('SIGKILL');
  } catch {
    child.kill('SIGKILL');
  }
};

// The parent has gone (or closed the channel): nothing more will be asked.
process.on('disconnect', () => process.exit(0));
