// The process that starts the others (spawner.ts says why). Plain JavaScript, so node starts it without
// tsx. Each message is one command; the answers are its pid, then its exit and output (as bytes).
import { spawn } from 'node:child_process';
import { statSync } from 'node:fs';

const EMPTY = new Uint8Array();

const reply = (message) => {
  if (!process.connected) return;
  try {
    process.send(message);
  } catch (e) {
    // Too big to pass on (hundreds of MB): say so instead of the output.
    process.send({ id: message.id, done: true, code: null, signal: null, stdout: EMPTY, stderr: EMPTY, error: `output-too-large: ${e.message}` });
  }
};

const isFolder = (path) => {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
};

process.on('message', (job) => {
  const { id, cmd, args, cwd, env, input, stream, detached, background, outputLimit, errorLimit } = job;
  const notStarted = (error) => reply({ id, done: true, code: null, signal: null, stdout: EMPTY, stderr: EMPTY, error, notStarted: true });
  // node says ENOENT for a missing working folder as for a missing command: tell them apart.
  if (cwd !== undefined && !isFolder(cwd)) return notStarted('no-folder');
  let child;
  try {
    child = spawn(cmd, args, {
      cwd,
      env,
      detached,
      stdio: background ? 'ignore' : [input === undefined ? 'ignore' : 'pipe', stream ? 'inherit' : 'pipe', stream ? 'inherit' : 'pipe'],
    });
  } catch (e) {
    return notStarted(e.code ?? String(e.message));
  }
  if (background) {
    child.on('error', () => {});
    child.unref();
    return reply({ id, done: true, code: 0, signal: null, stdout: EMPTY, stderr: EMPTY, pid: child.pid });
  }
  reply({ id, pid: child.pid });

  const out = [];
  const err = [];
  let outBytes = 0;
  let errBytes = 0;
  let overflow = false;
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
  child.on('error', (e) => {
    // Never started: node follows with a close, which is not waited for.
    if (child.pid === undefined && !finished) {
      finished = true;
      notStarted(e.code ?? String(e.message));
    }
  });
  child.on('close', (code, signal) => {
    if (finished) return;
    finished = true;
    reply({ id, done: true, code, signal, overflow, stdout: Buffer.concat(out), stderr: Buffer.concat(err) });
  });
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
