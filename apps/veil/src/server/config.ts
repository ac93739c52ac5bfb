/**
 * Loads `veil serve --config FILE`: the server schema from @veil/pipeline (validated there), paths resolved against
 * the file's folder, the `deid` section (a `veil deid` configuration, as a path or inline) and the key. Errors are
 * CliErrors (exit 3) naming the file and setting, never a value.
 *
 * Example:
 *   const config = loadServerConfig('veil-server.yaml');
 *   config.spool; // absolute
 */
import { dirname, isAbsolute, resolve } from 'node:path';
import {
  ConfigError,
  parseServerConfig,
  type RouteConfig,
  routesOf,
  type ServerConfig,
  type TlsConfig,
} from '@veil/pipeline';
import { CliError, EXIT_CONFIG } from '../deid/cli-error.ts';
import { parseRunConfig, type RunConfig, readConfigFile } from '../deid/config.ts';
import { loadKey } from '../deid/keys.ts';
import { resolveDestinationPaths } from './destinations/index.ts';

export interface LoadedServerConfig {
  readonly file: string;
  /** The validated configuration, every path absolute. */
  readonly server: ServerConfig;
  readonly routes: readonly RouteConfig[];
  readonly deid: RunConfig;
}

function abs(base: string, p: string): string {
  return isAbsolute(p) ? p : resolve(base, p);
}

function absTls(base: string, t: TlsConfig): TlsConfig {
  return {
    cert: abs(base, t.cert),
    key: abs(base, t.key),
    ...(t.clientCa !== undefined ? { clientCa: abs(base, t.clientCa) } : {}),
  };
}

/** Reads and validates the file; the key is loaded separately (loadServerKey) by the commands that need it. */
export function loadServerConfig(file: string): LoadedServerConfig {
  const path = resolve(file);
  const raw = readConfigFile(path);
  let server: ServerConfig;
  try {
    server = parseServerConfig(raw);
  } catch (e) {
    if (e instanceof ConfigError) throw new CliError(EXIT_CONFIG, `config ${file}: ${e.message}`);
    throw e;
  }
  const base = dirname(path);
  const resolved: ServerConfig = {
    ...server,
    spool: abs(base, server.spool),
    store: server.store.kind === 'sqlite' ? { ...server.store, path: abs(base, server.store.path) } : server.store,
    key: server.key.file !== undefined ? { ...server.key, file: abs(base, server.key.file) } : server.key,
    ingress: server.ingress.map((i) =>
      i.kind === 'folder' ? { ...i, path: abs(base, i.path) } : i.tls ? { ...i, tls: absTls(base, i.tls) } : i,
    ),
    http:
      server.http !== false && server.http.tls ? { ...server.http, tls: absTls(base, server.http.tls) } : server.http,
    destinations: server.destinations.map((d) => resolveDestinationPaths(base, d)),
    ...(typeof server.deid === 'string' ? { deid: abs(base, server.deid) } : {}),
    ...(server.crosswalk ? { crosswalk: { publicKey: abs(base, server.crosswalk.publicKey) } } : {}),
    pulls: { dicomweb: server.pulls.dicomweb.map((s) => ({ ...s, tokenFile: abs(base, s.tokenFile) })) },
    audit: {
      ...server.audit,
      ...(server.audit.signingKey !== undefined ? { signingKey: abs(base, server.audit.signingKey) } : {}),
      ...(server.audit.publicKey !== undefined ? { publicKey: abs(base, server.audit.publicKey) } : {}),
    },
  };
  let deid: RunConfig;
  if (typeof resolved.deid === 'string') {
    deid = parseRunConfig(readConfigFile(resolved.deid), `config ${resolved.deid}`);
  } else {
    deid = parseRunConfig(resolved.deid ?? {}, `config ${file} (deid)`);
  }
  return { file: path, server: resolved, routes: routesOf(resolved), deid };
}

/** The project key named by the configuration (key.file, else the key.env variable, default VEIL_KEY). */
export function loadServerKey(config: LoadedServerConfig, warn: (m: string) => void): Uint8Array {
  const k = config.server.key;
  if (k.file !== undefined) return loadKey({ keyFile: k.file, warn });
  const name = k.env ?? 'VEIL_KEY';
  const value = process.env[name];
  if (name !== 'VEIL_KEY' && (value === undefined || value.trim() === '')) {
    throw new CliError(EXIT_CONFIG, `no key: the configuration names the variable ${name}, which is not set`);
  }
  return loadKey({ env: value === undefined ? {} : { VEIL_KEY: value }, warn });
}
