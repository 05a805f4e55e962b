// Random YAML files with comments everywhere, read by the probe (Go's yaml.v3 and sops' store) and by parseSops:
// every tree must agree, or parseSops must refuse the file. Run by check.sh: fuzz.ts PROBE [COUNT] [SEED].
import { execFileSync } from 'node:child_process';
import { parseSops, type TValue } from '../../src/lib/sops.ts';
import { toBytes } from '../../src/lib/sops-values.ts';

const [probe, count = '2000', seed = '1'] = process.argv.slice(2);

/** mulberry32: the same files for the same seed. */
const random = (s: number) => () => {
  s = (s + 0x6d2b79f5) | 0;
  let t = Math.imul(s ^ (s >>> 15), 1 | s);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};

const file = (r: () => number): string => {
  const pick = <T>(xs: T[]): T => xs[Math.floor(r() * xs.length)];
  const lines: string[] = [];
  let n = 0;
  const comment = () => `# c${++n}`;
  const lineComment = () => (r() < 0.25 ? ` ${comment()}` : '');
  const comments = (indent: number, outer: number) => {
    if (r() < 0.6) return;
    for (let i = pick([1, 1, 2, 3]); i > 0; i--) {
      if (r() < 0.15) lines.push(pick(['', '  ']));
      lines.push(' '.repeat(pick([0, indent, indent, outer, indent + 2, Math.max(0, indent - 1), 1])) + comment());
    }
    if (r() < 0.15) lines.push('');
  };
  const value = (indent: number, depth: number, head: string, inSequence: boolean): void => {
    const kind = depth > 2 ? 'scalar' : pick(['scalar', 'scalar', 'map', 'map', 'seq', 'block', 'flow', 'multi', 'empty']);
    if (kind === 'scalar') lines.push(`${head} ${pick(['v', 'x y', '"q"', "'s'", '1', 'true', '&a v', '*a', '!!str t'])}${lineComment()}`);
    else if (kind === 'empty') lines.push(`${head}${lineComment()}`);
    else if (kind === 'multi') lines.push(`${head} ${pick(['"two', 'plain'])}`, `${' '.repeat(indent + 2)}${pick(['lines"', 'more'])}${lineComment()}`);
    else if (kind === 'block') {
      lines.push(`${head} ${pick(['|', '>', '|-', '|+', '>-'])}${lineComment()}`);
      for (let i = pick([1, 2]); i > 0; i--) lines.push(`${' '.repeat(indent + 2)}line${i}${pick(['', ' '])}`);
      if (r() < 0.2) lines.push('');
    } else if (kind === 'flow') {
      if (r() < 0.6) lines.push(`${head} ${pick(['[a, b]', '{a: 1}', '[]', '{}'])}${lineComment()}`);
      else {
        const pad = ' '.repeat(indent + 2);
        const sequence = r() < 0.5;
        lines.push(`${head} ${sequence ? '[' : '{'}`);
        if (r() < 0.5) lines.push(pad + comment());
        lines.push(`${pad}${sequence ? 'a' : 'x: 1'},${lineComment()}`, `${pad}${sequence ? '"b"' : 'y: 2'}${lineComment()}`);
        if (r() < 0.3) lines.push(pad + comment());
        lines.push(`${' '.repeat(indent)}${sequence ? ']' : '}'}`);
      }
    } else if (kind === 'map') {
      if (inSequence && r() < 0.5) return mapping(indent + 2, depth + 1, `${head} `, indent);
      lines.push(`${head}${lineComment()}`);
      const inner = indent + pick([2, 2, 4]);
      mapping(inner, depth + 1, ' '.repeat(inner), indent);
    } else {
      if (inSequence && r() < 0.3) return sequence(indent + 2, depth + 1, `${head} `, indent);
      lines.push(`${head}${lineComment()}`);
      const inner = inSequence ? indent + 2 : indent + pick([0, 2, 2]);
      sequence(inner, depth + 1, ' '.repeat(inner), indent);
    }
  };
  const mapping = (indent: number, depth: number, first: string, outer: number) => {
    for (let i = 0, count = pick([1, 2, 2, 3]); i < count; i++) {
      if (i > 0) comments(indent, outer);
      value(indent, depth, `${i === 0 ? first : ' '.repeat(indent)}k${depth}${i}:`, false);
    }
    comments(indent, outer);
  };
  const sequence = (indent: number, depth: number, first: string, outer: number) => {
    for (let i = 0, count = pick([1, 2, 3]); i < count; i++) {
      if (i > 0) comments(indent, outer);
      value(indent, depth, `${i === 0 ? first : ' '.repeat(indent)}-`, true);
    }
    comments(indent, outer);
  };
  if (r() < 0.2) lines.push(pick(['---', `--- ${comment()}`]));
  comments(0, 0);
  mapping(0, 0, '', 0);
  if (r() < 0.1) {
    lines.push(pick(['---', '...\n---']));
    mapping(0, 0, '', 0);
  }
  const text = lines.join('\n') + (r() < 0.9 ? '\n' : '');
  // An alias names the first anchor before it, or there is none.
  const anchored = text.indexOf('&a');
  const fixed = text.replace(/\*a/g, (m, at: number) => (anchored >= 0 && at > anchored ? m : 'w'));
  return r() < 0.1 ? fixed.replace(/\n/g, '\r\n') : fixed;
};

type Probed = unknown;
const probed = (v: TValue): Probed => {
  if (v.kind === 'leaf') return v.value.type === 'null' ? null : toBytes(v.value).text;
  if (v.kind === 'map') return { map: v.items.map((i) => (i.kind === 'comment' ? { '#': i.line.text } : { k: i.key, v: probed(i.value) })) };
  return { seq: v.items.map((i) => (i.kind === 'comment' ? { '#': i.line.text } : probed(i))) };
};
const ours = (text: string): { docs?: Probed[]; error?: string } => {
  try {
    return { docs: parseSops(text, 'fuzz.yaml').docs.map((d) => (probed(d.tree) as { map: Probed }).map) };
  } catch (e) {
    return { error: (e as Error).message };
  }
};

const r = random(Number(seed));
const cases = Object.fromEntries(Array.from({ length: Number(count) }, (_, i) => [`f${i}`, file(r)]));
const truth: Record<string, { docs?: Probed[]; error?: string }> = JSON.parse(execFileSync(probe, { input: JSON.stringify(cases), maxBuffer: 1 << 28 }).toString());
let agree = 0;
let refused = 0;
const differ: string[] = [];
for (const [name, text] of Object.entries(cases)) {
  const [want, got] = [truth[name], ours(text)];
  if (got.error && !(want.docs && want.docs.length)) agree++;
  else if (got.error) refused++;
  else if (want.error || JSON.stringify(want.docs) !== JSON.stringify(got.docs)) differ.push(`${JSON.stringify(text)}\n  yaml.v3 ${JSON.stringify(want)}\n  ours    ${JSON.stringify(got)}`);
  else agree++;
}
console.log(`${count} random files (seed ${seed}): ${agree} agree with yaml.v3, ${refused} refused, ${differ.length} differ`);
if (differ.length) {
  console.error(differ.slice(0, 5).join('\n'));
  process.exit(1);
}
