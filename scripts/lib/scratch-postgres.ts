// A throwaway PostgreSQL server in a folder of its own, on loopback, for the DR drill.
import { appendFileSync, chownSync, existsSync, mkdirSync, readdirSync, realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { UserError } from '../../src/lib/errors.ts';
import { query, run } from '../../src/lib/exec.ts';
import { io } from '../../src/lib/io.ts';

/**
 * The folder with initdb, pg_ctl and psql together: that of initdb on PATH (links followed), else Debian's
 * newest /usr/lib/postgresql/<version>/bin (Debian puts only wrappers on PATH).
 */
export const postgresBinDir = (): string => {
  const onPath = io().which('initdb');
  if (onPath) return dirname(realpathSync(onPath));
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).filter((v) => existsSync(join(root, v, 'bin', 'initdb'))) : [];
  if (!versions.length) throw new UserError('PostgreSQL is not installed (no initdb on PATH nor in /usr/lib/postgresql/*/bin): apt-get install -y postgresql');
  return join(root, versions.sort((a, b) => Number(b) - Number(a))[0], 'bin');
};

export interface PostgresUser {
  /** Prefix that runs a command as this user (runuser when we are root, nothing otherwise). */
  prefix: string[];
  uid: number;
  gid: number;
}

/** PostgreSQL refuses to run as root: as root, commands run as the `postgres` user that Debian's package creates. */
export const postgresUser = async (): Promise<PostgresUser> => {
  if (process.getuid?.() !== 0) return { prefix: [], uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 };
  const uid = await query('id', ['-u', 'postgres']);
  const gid = await query('id', ['-g', 'postgres']);
  if (!uid.ok || !gid.ok) throw new UserError('running as root and there is no postgres user to run PostgreSQL as: apt-get install -y postgresql');
  return { prefix: ['runuser', '-u', 'postgres', '--'], uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
};

/** Runs a command as the PostgreSQL user. */
export const runAs = (user: PostgresUser, cmd: string, args: string[], env: Record<string, string>): Promise<string> =>
  user.prefix.length ? run(user.prefix[0], [...user.prefix.slice(1), cmd, ...args], { env }) : run(cmd, args, { env });

/** A folder the PostgreSQL user owns. */
export const ownedFolder = (path: string, user: PostgresUser): string => {
  mkdirSync(path, { recursive: true, mode: 0o700 });
  chownSync(path, user.uid, user.gid);
  return path;
};

export interface ScratchServer {
  dataDir: string;
  port: number;
  /** Runs SQL through one psql and returns its unaligned, tuples-only output; each string of a list is a transaction of its own. */
  sql: (statements: string | string[]) => Promise<string>;
  start: () => Promise<void>;
  /** `immediate` stops as a crash would: no checkpoint, nothing flushed beyond what was committed. */
  stop: (mode?: 'fast' | 'immediate') => Promise<void>;
}

export interface ScratchServerOptions {
  dataDir: string;
  /** Unix socket folder, owned by the PostgreSQL user. */
  socketDir: string;
  port: number;
  user: PostgresUser;
  bin: string;
  /** The server's environment: archive_command and restore_command inherit it. */
  env: Record<string, string>;
  log: string;
}

/** A server over `dataDir` (made by initdb or restored from a backup), listening on its Unix socket only. */
export const scratchServer = (o: ScratchServerOptions): ScratchServer => {
  const asUser = (cmd: string, args: string[]) => runAs(o.user, join(o.bin, cmd), args, o.env);
  return {
    dataDir: o.dataDir,
    port: o.port,
    sql: async (statements) => {
      const commands = (Array.isArray(statements) ? statements : [statements]).flatMap((s) => ['-c', s]);
      return (await asUser('psql', ['-X', '-A', '-t', '-q', '-v', 'ON_ERROR_STOP=1', '-h', o.socketDir, '-p', String(o.port), '-U', 'postgres', '-d', 'postgres', ...commands])).trim();
    },
    start: async () => {
      await asUser('pg_ctl', ['-D', o.dataDir, '-l', o.log, '-o', `-p ${o.port} -k ${o.socketDir} -c listen_addresses=''`, '-w', '-t', '120', 'start']);
    },
    stop: async (mode = 'fast') => {
      // postmaster.pid rather than what start() saw: a drill interrupted during start still stops it.
      if (!existsSync(join(o.dataDir, 'postmaster.pid'))) return;
      await asUser('pg_ctl', ['-D', o.dataDir, '-m', mode, '-w', 'stop']);
    },
  };
};

/** A new, empty cluster in `dataDir` (trust authentication on its socket; nothing listens on the network). */
export const initCluster = async (o: ScratchServerOptions, settings: Record<string, string>): Promise<ScratchServer> => {
  await runAs(o.user, join(o.bin, 'initdb'), ['-D', o.dataDir, '-U', 'postgres', '--auth=trust', '--no-sync', '--encoding=UTF8', '--locale=C'], o.env);
  configure(o.dataDir, settings);
  return scratchServer(o);
};

/** Appends settings to postgresql.conf (the last value of a setting wins). */
export const configure = (dataDir: string, settings: Record<string, string>): void => {
  appendFileSync(join(dataDir, 'postgresql.conf'), `\n${Object.entries(settings).map(([k, v]) => `${k} = '${v.replace(/'/g, "''")}'`).join('\n')}\n`);
};
