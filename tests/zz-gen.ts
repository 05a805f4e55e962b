import { invoke } from '../src/lib/cli.ts';
import { generatorMain } from '../generators/lib/run.ts';
const [name, ...argv] = process.argv.slice(2);
const r = await invoke(generatorMain(name, process.cwd()), argv);
console.log(r.stdout); console.error(r.stderr); process.exit(r.code);
