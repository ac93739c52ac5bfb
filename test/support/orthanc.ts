/**
 * A throwaway Orthanc for tests: its own temporary storage, its own free HTTP and DICOM ports, no remote access, no
 * authentication, the DICOMweb plugin when Debian's orthanc-dicomweb is installed, and the DICOM modalities a test
 * names (e.g. Veil's SCP). Started with startOrthanc(), ready once /system answers, stopped (and its folder
 * removed) with stop(). Orthanc binds all interfaces but, with RemoteAccessAllowed false, serves only loopback;
 * tests talk to it on 127.0.0.1 only. A system Orthanc service (Debian's, on 4242/8042) is neither used nor touched.
 *
 * Example:
 *   if (!orthancAvailable()) t.skip('Orthanc not installed');
 *   const orthanc = await startOrthanc({ modalities: { VEIL: { aet: 'VEIL', host: '127.0.0.1', port: scpPort } } });
 *   const ids = await orthanc.json<string[]>('GET', '/instances');
 *   await orthanc.stop();
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const ORTHANC_DICOMWEB_PLUGIN = '/usr/share/orthanc/plugins/libOrthancDicomWeb.so';

export interface OrthancModality {
  readonly aet: string;
  readonly host: string;
  readonly port: number;
}

export interface OrthancOptions {
  /** Orthanc's own AE title (default ORTHANC). */
  readonly aet?: string;
  /** DICOM modalities by symbolic name, for /modalities/{name}/store and C-MOVE destinations. */
  readonly modalities?: Readonly<Record<string, OrthancModality>>;
  /** Load the DICOMweb plugin (default: when it is installed). */
  readonly dicomWeb?: boolean;
  /** Further configuration keys, merged last. */
  readonly config?: Readonly<Record<string, unknown>>;
  /** Readiness timeout (default 30 s). */
  readonly startTimeoutMs?: number;
}

export interface RestResponse {
  readonly status: number;
  readonly body: Buffer;
}

export interface Orthanc {
  readonly aet: string;
  readonly httpPort: number;
  readonly dicomPort: number;
  /** http://127.0.0.1:<port> */
  readonly url: string;
  /** The DICOMweb root (http://127.0.0.1:<port>/dicom-web), when the plugin is loaded. */
  readonly dicomWebUrl: string | undefined;
  readonly dir: string;
  rest(method: string, path: string, body?: Uint8Array | string | object): Promise<RestResponse>;
  json<T>(method: string, path: string, body?: Uint8Array | string | object): Promise<T>;
  /** The last lines Orthanc logged (for assertion messages; may name AE titles and UIDs, never shown by default). */
  logTail(): string;
  stop(): Promise<void>;
}

export function orthancAvailable(): boolean {
  return spawnSync('Orthanc', ['--version'], { stdio: 'ignore' }).status === 0;
}

export function orthancDicomWebAvailable(): boolean {
  return orthancAvailable() && existsSync(ORTHANC_DICOMWEB_PLUGIN);
}

/** A port that was free a moment ago on 127.0.0.1 (Orthanc cannot be handed a listening socket). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

async function waitExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return true;
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

async function startOnce(options: OrthancOptions): Promise<Orthanc> {
  const dir = mkdtempSync(join(tmpdir(), 'veil-orthanc-'));
  const httpPort = await freePort();
  let dicomPort = await freePort();
  while (dicomPort === httpPort) dicomPort = await freePort();
  const aet = options.aet ?? 'ORTHANC';
  const dicomWeb = options.dicomWeb ?? existsSync(ORTHANC_DICOMWEB_PLUGIN);
  const config = {
    Name: 'veil-test',
    StorageDirectory: join(dir, 'storage'),
    IndexDirectory: join(dir, 'storage'),
    HttpPort: httpPort,
    DicomPort: dicomPort,
    DicomAet: aet,
    RemoteAccessAllowed: false,
    AuthenticationEnabled: false,
    HttpCompressionEnabled: false,
    SaveJobs: false,
    ConcurrentJobs: 2,
    DicomScuTimeout: 15,
    DicomScpTimeout: 15,
    DicomAlwaysAllowEcho: true,
    DicomAlwaysAllowStore: true,
    DicomCheckModalityHost: false,
    UnknownSopClassAccepted: true,
    OverwriteInstances: false,
    LuaScripts: [],
    Plugins: dicomWeb ? [ORTHANC_DICOMWEB_PLUGIN] : [],
    DicomWeb: { Enable: dicomWeb, Root: '/dicom-web/', EnableWado: false, Host: `127.0.0.1:${httpPort}`, Ssl: false },
    DicomModalities: Object.fromEntries(
      Object.entries(options.modalities ?? {}).map(([name, m]) => [name, { AET: m.aet, Host: m.host, Port: m.port }]),
    ),
    ...options.config,
  };
  const configPath = join(dir, 'orthanc.json');
  writeFileSync(configPath, JSON.stringify(config, null, 2));
  const child = spawn('Orthanc', [configPath], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  const log: string[] = [];
  const keep = (b: Buffer): void => {
    log.push(...b.toString('utf8').split('\n'));
    if (log.length > 200) log.splice(0, log.length - 200);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const url = `http://127.0.0.1:${httpPort}`;

  const rest = async (method: string, path: string, body?: Uint8Array | string | object): Promise<RestResponse> => {
    let payload: Uint8Array<ArrayBuffer> | string | undefined;
    if (body instanceof Uint8Array) payload = new Uint8Array(body);
    else if (typeof body === 'string') payload = body;
    else if (body !== undefined) payload = JSON.stringify(body);
    const res = await fetch(`${url}${path}`, { method, ...(payload !== undefined ? { body: payload } : {}) });
    return { status: res.status, body: Buffer.from(await res.arrayBuffer()) };
  };
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      if (!(await waitExit(child, 10_000))) {
        child.kill('SIGKILL');
        await waitExit(child, 5_000);
      }
    }
    rmSync(dir, { recursive: true, force: true });
  };

  const deadline = Date.now() + (options.startTimeoutMs ?? 30_000);
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`Orthanc exited during start (code ${child.exitCode}):\n${log.slice(-20).join('\n')}`);
    }
    try {
      const r = await rest('GET', '/system');
      if (r.status === 200) break;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`Orthanc did not answer /system in time:\n${log.slice(-20).join('\n')}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    aet,
    httpPort,
    dicomPort,
    url,
    dicomWebUrl: dicomWeb ? `${url}/dicom-web` : undefined,
    dir,
    rest,
    json: async <T>(method: string, path: string, body?: Uint8Array | string | object): Promise<T> => {
      const r = await rest(method, path, body);
      if (r.status < 200 || r.status > 299) throw new Error(`Orthanc ${method} answered ${r.status}`);
      return JSON.parse(r.body.toString('utf8')) as T;
    },
    logTail: () => log.slice(-40).join('\n'),
    stop,
  };
}

/** Starts an Orthanc (a second try on fresh ports if the first loses a port race). */
export async function startOrthanc(options: OrthancOptions = {}): Promise<Orthanc> {
  try {
    return await startOnce(options);
  } catch {
    return startOnce(options);
  }
}
