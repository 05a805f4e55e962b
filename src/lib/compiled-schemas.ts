import { mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Script } from 'node:vm';
import type { ValidateFunction } from 'ajv';
import { cacheArea } from './cache.ts';
import { isFile, writeAtomically } from './fsutil.ts';
import { sha256 } from './hash.ts';

const requireHere = createRequire(import.meta.url);
const AJV_VERSION: string = requireHere('ajv/package.json').version;

export interface CompileRequest {
  /** What identifies the schema (its file and mtime, or its content); the cache entry is keyed by it. */
  key: string;
  schema: () => object;
  /** ajv options; functions in them (a custom RegExp engine) are passed to the cached code by their `code` name. */
  options: Record<string, any>;
  /** Where compiled code is kept; none means compile every time. */
  cacheDir?: string;
  /** JSON Schema draft 2020-12 (ajv's other class) instead of draft-07. */
  draft2020?: boolean;
}

const instances = new Map<string, Promise<any>>();

/** One ajv per option set and process: its meta-schema is compiled once, however many schemas follow. */
const ajvFor = (options: Record<string, any>, draft2020 = false): Promise<any> => {
  const id = `${draft2020}${optionsId(options)}`;
  if (!instances.has(id)) {
    const load = draft2020 ? import('ajv/dist/2020.js') : import('ajv');
    instances.set(
      id,
      load.then(({ default: Ajv }) => new (Ajv as any)({ ...options, code: { ...options.code, source: true } })),
    );
  }
  return instances.get(id)!;
};

const optionsId = (options: Record<string, any>): string =>
  JSON.stringify(options, (_k, v) => (typeof v === 'function' ? `fn:${v.code ?? v.name}` : v));

/** Functions the generated code refers to by name, such as `goRegExp` for `code.regExp`. */
const scopeOf = (options: Record<string, any>): Record<string, unknown> => {
  const engine = options.code?.regExp;
  return engine?.code && /^[A-Za-z_$][\w$]*$/.test(engine.code) ? { [engine.code]: engine } : {};
};

/** Scripts loaded without a usable V8 code cache; theirs is written by writeCodeCaches, or when the process ends. */
const uncached = new Map<string, Script>();
let flushing = false;

/**
 * Writes the V8 code cache of every script loaded without one, now rather than when the process ends: for
 * other processes that load the same validators while this one goes on.
 */
export const writeCodeCaches = (): void => {
  for (const [file, script] of uncached) {
    try {
      writeAtomically(file, script.createCachedData());
    } catch {
      // Only a cache: the next run compiles again.
    }
  }
  uncached.clear();
};

/**
 * Runs cached standalone code. V8 compiles its functions lazily on first call, which for a CRD's validator
 * costs as much as loading it; the code cache, taken after they ran (writeCodeCaches, or when the process
 * ends), keeps those compiled functions.
 */
const load = (file: string, code: string, scope: Record<string, unknown>): ValidateFunction => {
  const codeCache = `${file}.v8`;
  const cachedData = isFile(codeCache) ? readFileSync(codeCache) : undefined;
  const params = ['require', 'module', 'exports', ...Object.keys(scope)].join(', ');
  const script = new Script(`(function (${params}) {${code}\n})`, { filename: file, cachedData });
  if (!cachedData || script.cachedDataRejected) {
    uncached.set(codeCache, script);
    if (!flushing) {
      flushing = true;
      process.once('exit', writeCodeCaches);
    }
  }
  const module: { exports: any } = { exports: {} };
  script.runInThisContext()(requireHere, module, module.exports, ...Object.values(scope));
  return module.exports;
};

/**
 * A validator for `schema`: ajv's standalone code from the cache when it is there, else compiled and then cached.
 * Big CRD schemas take ajv hundreds of milliseconds to compile; loading the cached code takes a few. A process
 * compiles or loads each schema once, whichever cache folder asks next: that folder gets the code written in.
 */
export const compileCached = async (req: CompileRequest): Promise<ValidateFunction> => {
  const id = `${req.draft2020 ?? false}\0${optionsId(req.options)}\0${req.key}`;
  const first = !compiled.has(id);
  if (first) compiled.set(id, loadOrCompile(req));
  const entry = await compiled.get(id)!;
  // Once per cache folder, not on every call: whether it has the code.
  if (!first && req.cacheDir && !entry.folders.has(req.cacheDir)) {
    entry.folders.add(req.cacheDir);
    const file = codeFile(req)!;
    if (!isFile(file)) {
      entry.code ??= await standalone(entry.ajv, entry.validate);
      keepCode(req, file, entry.code);
    }
  }
  return entry.validate;
};

interface Compiled {
  validate: ValidateFunction;
  code?: string;
  /** The ajv that compiled it, when this process did (its code is made from both). */
  ajv?: any;
  /** The cache folders known to hold its code. */
  folders: Set<string>;
}

/** This process's validators and their code: a schema with an `$id` cannot be compiled twice by one ajv. */
const compiled = new Map<string, Promise<Compiled>>();

const standalone = async (ajv: any, validate: ValidateFunction): Promise<string> => {
  const { default: standaloneCode } = await import('ajv/dist/standalone/index.js');
  return (standaloneCode as any)(ajv, validate);
};

/** Forgets this process's validators, as a new process would start (a test of the cache on disk needs it). */
export const forgetCompiled = (): void => {
  compiled.clear();
  instances.clear();
};

const codeFile = (req: CompileRequest): string | undefined =>
  req.cacheDir ? cacheArea(req.cacheDir, 'validators').file(sha256(AJV_VERSION, String(req.draft2020 ?? false), optionsId(req.options), req.key), '.cjs') : undefined;

/** Writes the code into the cache folder; whether it could is the answer (a cache that cannot be written is no cache). */
const keepCode = (req: CompileRequest, file: string, code: string): boolean => {
  try {
    const area = cacheArea(req.cacheDir!, 'validators');
    mkdirSync(area.dir, { recursive: true });
    writeAtomically(file, code);
    area.prune((f) => f.endsWith('.cjs'), (f) => [`${f}.v8`]);
    return true;
  } catch {
    return false;
  }
};

const loadOrCompile = async (req: CompileRequest): Promise<Compiled> => {
  const scope = scopeOf(req.options);
  const file = codeFile(req);
  if (file && isFile(file)) {
    try {
      const code = readFileSync(file, 'utf8');
      return { validate: load(file, code, scope), code, folders: new Set([req.cacheDir!]) };
    } catch {
      // A damaged entry is compiled again and replaced.
    }
  }
  const ajv = await ajvFor(req.options, req.draft2020);
  const validate: ValidateFunction = ajv.compile(req.schema());
  if (!file) return { validate, ajv, folders: new Set() };
  const code = await standalone(ajv, validate);
  // Run from the file from now on, so that this process leaves the V8 code cache for the next.
  const kept = keepCode(req, file, code);
  return { validate: kept ? load(file, code, scope) : validate, code, ajv, folders: new Set(kept ? [req.cacheDir!] : []) };
};
