/**
 * The egress destinations against real peers, each through the one Destination conformance suite
 * (@veil/pipeline/testing): a folder; C-STORE to Veil's own DIMSE SCP; STOW-RS to Veil's own DICOMweb server (a
 * FolderStore); S3 to s3rver started in this process on 127.0.0.1. The instances are real `veil deid` outputs of
 * files from ../shared/data. Then what only one kind does: association reuse and configured retry statuses
 * (C-STORE), batching and bearer tokens (STOW-RS), multipart upload (S3), and destinations named by URL in the
 * gateway configuration. Everything listens on 127.0.0.1 and writes to a temp folder.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { rewrite, scanFile } from '@veil/core';
import { FolderStore, recordOfFile, type StowHandler, serveDicomweb } from '@veil/dicomweb';
import { DimseServer, describePart10, type StoreHandler } from '@veil/dimse';
import {
  DeliveryError,
  type DimseDestinationConfig,
  type OutgoingInstance,
  parseDestinationConfig,
  parseServerConfig,
  type S3DestinationConfig,
  type StowDestinationConfig,
} from '@veil/pipeline';
import { type DestinationHarness, runDestinationSuite, type SuiteItem } from '@veil/pipeline/testing';
import S3rver from 's3rver';
import { loadServerConfig } from '../src/server/config.ts';
import { DimseDestination } from '../src/server/destinations/dimse.ts';
import { FolderDestination } from '../src/server/destinations/folder.ts';
import { S3Destination } from '../src/server/destinations/s3.ts';
import { StowDestination } from '../src/server/destinations/stow.ts';
import { createObservability } from '../src/server/observe.ts';
import { startServer } from '../src/server/server.ts';
import { hasOpenssl, makeCerts } from './security-support.ts';
import {
  bin,
  buildCorpus,
  corpusDir,
  drop,
  HEADER_ONLY_DEID,
  keyFile,
  pick,
  waitFor,
  writeConfig,
} from './server-support.ts';

const tmp = mkdtempSync(join(tmpdir(), 'veil-dest-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const PICKS = [
  'dcm_qa_ct/Philips/S21570/S4010/I10',
  'dcm_qa_ct/Philips/S21570/S4010/I20',
  'dcm_qa_ct/Philips/S21570/S4010/I30',
  'dcm4che/test-data/MR-JPEGLosslessSV1.dcm',
  'dcm4che/test-data/NM-MONO2-16-13x-heart',
];

let outputs: OutgoingInstance[] | undefined;
/** Real de-identified instances: `veil deid` outputs of PICKS, described as the gateway describes its outputs. */
function deidentified(): OutgoingInstance[] {
  if (outputs) return outputs;
  const input = join(tmp, 'in');
  const out = join(tmp, 'deid');
  mkdirSync(input);
  PICKS.forEach((p, i) => {
    copyFileSync(join(corpusDir, p), join(input, `f${i}.dcm`));
  });
  const env = { ...process.env };
  delete env.NODE_TEST_CONTEXT;
  delete env.NODE_OPTIONS;
  const r = spawnSync(process.execPath, [bin, 'deid', input, '--out', out, '--key-file', keyFile(tmp).path], {
    encoding: 'utf8',
    env,
  });
  assert.equal(r.status, 0, r.stderr);
  outputs = readdirSync(out)
    .filter((f) => f.endsWith('.dcm'))
    .sort()
    .map((f, i) => {
      const path = join(out, f);
      const bytes = readFileSync(path);
      const info = describePart10(bytes);
      return {
        jobId: `job${i}`,
        path,
        size: bytes.length,
        sopInstanceUid: info.sopInstanceUid,
        sopClassUid: info.sopClassUid,
        transferSyntaxUid: info.transferSyntaxUid,
        studyKey: null,
        hierarchy: `P${i % 2}/S${i % 2}/R${i}`,
      };
    });
  assert.equal(outputs.length, PICKS.length);
  return outputs;
}

/** Whole-file digests (folder, STOW-RS, S3 hold the Part 10 file as sent). */
async function fileItems(): Promise<SuiteItem[]> {
  return deidentified().map((item) => ({ item, digest: sha(readFileSync(item.path)) }));
}

/** Data set digests (C-STORE carries the data set; the file meta is the sender's). */
async function datasetItems(): Promise<SuiteItem[]> {
  return deidentified().map((item) => {
    const bytes = readFileSync(item.path);
    return { item, digest: sha(bytes.subarray(describePart10(bytes).datasetOffset)) };
  });
}

let dirs = 0;
const newDir = (what: string): string => {
  const d = join(tmp, `${what}-${++dirs}`);
  mkdirSync(d, { recursive: true });
  return d;
};

// ------------------------------------------------------------------------------------------------------- folder

function heldInFolder(dir: string): Map<string, string[]> {
  const held = new Map<string, string[]>();
  for (const e of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!e.isFile() || !e.name.endsWith('.dcm')) continue;
    const uid = basename(e.name, '.dcm');
    held.set(uid, [...(held.get(uid) ?? []), sha(readFileSync(join(e.parentPath, e.name)))]);
  }
  return held;
}

runDestinationSuite({
  name: 'folder',
  items: fileItems,
  create: async () => {
    const dir = newDir('folder');
    return {
      destination: new FolderDestination({ name: 'f', kind: 'folder', path: dir, layout: 'hierarchy' } as never),
      held: async () => heldInFolder(dir),
    };
  },
});

// ------------------------------------------------------------------------------------------------------ C-STORE

interface ScpPeer {
  readonly port: number;
  readonly held: Map<string, string[]>;
  associations: number;
  close(): Promise<void>;
}

/** Veil's own SCP: keeps each instance's data set digest by SOP Instance UID (a PACS replaces an instance). */
async function startScp(
  refuse?: { uid: string; status: number },
  tls?: { key: string; cert: string; ca: string },
): Promise<ScpPeer> {
  const held = new Map<string, string[]>();
  const store: StoreHandler = {
    beginStore: (rq) => {
      if (refuse && rq.sopInstanceUid === refuse.uid) return { status: refuse.status };
      const chunks: Uint8Array[] = [];
      return {
        write: (c) => {
          chunks.push(c);
        },
        end: () => {
          held.set(rq.sopInstanceUid, [sha(Buffer.concat(chunks))]);
          return 0;
        },
        abort: () => {},
      };
    },
  };
  const peer: ScpPeer = { port: 0, held, associations: 0, close: async () => {} };
  const server = new DimseServer({
    aeTitle: 'DEST',
    handlers: { store },
    ...(tls ? { tls: { ...tls, requireClientCertificate: true } } : {}),
    onEvent: (e) => {
      if (e.type === 'associated') peer.associations++;
    },
  });
  const { port } = await server.listen({ port: 0, host: '127.0.0.1' });
  return Object.assign(peer, { port, close: () => server.close() });
}

const dimseConfig = (port: number, over: Partial<DimseDestinationConfig> = {}): DimseDestinationConfig =>
  parseDestinationConfig({ name: 'pacs', url: `dicom://DEST@127.0.0.1:${port}`, ...over }) as DimseDestinationConfig;

runDestinationSuite({
  name: 'C-STORE (Veil SCP)',
  items: datasetItems,
  create: async (): Promise<DestinationHarness> => {
    const scp = await startScp();
    return { destination: new DimseDestination(dimseConfig(scp.port)), held: async () => scp.held, cleanup: scp.close };
  },
  createRefusing: async (uid) => {
    // 0xA900: data set does not match SOP class; not among the retry statuses.
    const scp = await startScp({ uid, status: 0xa900 });
    return {
      destination: new DimseDestination(dimseConfig(scp.port)),
      held: async () => scp.held,
      cleanup: scp.close,
      permanent: true,
    };
  },
  createSilent: async (port, timeoutMs) =>
    new DimseDestination(dimseConfig(port, { timeoutSeconds: timeoutMs / 1000 })),
});

describe('C-STORE destination', () => {
  test('one association carries many instances and SOP classes; receipts carry the status', async () => {
    const scp = await startScp();
    const dest = new DimseDestination(dimseConfig(scp.port));
    try {
      const items = deidentified();
      const first = await dest.send(items[0]!);
      assert.equal(first.peer, `dicom://DEST@127.0.0.1:${scp.port}`);
      assert.equal(first.acknowledged.status, '0x0000');
      for (const item of items.slice(1)) await dest.send(item);
      // The CT class was proposed first; the MR and NM instances needed a new association each (new pairs), then
      // everything known is proposed together: 3 associations for 3 SOP classes, not one per instance.
      assert.ok(dest.associations <= 3, `${dest.associations} associations for ${items.length} instances`);
      const again = dest.associations;
      await Promise.all(items.map((i) => dest.send(i)));
      assert.equal(dest.associations, again, 'known pairs reuse the open association');
      assert.equal(scp.associations, dest.associations);
    } finally {
      await dest.close();
      await scp.close();
    }
  });

  test('out of resources (0xA700) is retried as configured: retryable by default, permanent without A7xx', async () => {
    const item = deidentified()[0]!;
    const scp = await startScp({ uid: item.sopInstanceUid, status: 0xa700 });
    const byDefault = new DimseDestination(dimseConfig(scp.port));
    const strict = new DimseDestination(dimseConfig(scp.port, { retryStatuses: ['C0xx'] }));
    try {
      const e1 = await byDefault.send(item).then(
        () => undefined,
        (e: unknown) => e,
      );
      assert.ok(e1 instanceof DeliveryError);
      assert.equal(e1.code, 'DEST_DIMSE_STATUS_A700');
      assert.equal(e1.permanent, false);
      const e2 = await strict.send(item).then(
        () => undefined,
        (e: unknown) => e,
      );
      assert.ok(e2 instanceof DeliveryError);
      assert.equal(e2.permanent, true);
    } finally {
      await byDefault.close();
      await strict.close();
      await scp.close();
    }
  });
});

// ------------------------------------------------------------------------------------------------------ STOW-RS

async function startStow(
  options: { refuse?: string; token?: string; tls?: { key: string; cert: string; ca: string } } = {},
) {
  const dir = newDir('stow');
  const store = await FolderStore.open(dir, { fsync: false });
  const stow: StowHandler = {
    begin: (part) =>
      options.refuse !== undefined && part.sopInstanceUid === options.refuse
        ? { failureReason: 0xa700 }
        : store.begin(),
  };
  const requests: { auth: string | undefined }[] = [];
  const server = await serveDicomweb(
    { stow, store, root: '/dicom-web' },
    {
      host: '127.0.0.1',
      ...(options.tls ? { tls: { ...options.tls, requestCert: true, rejectUnauthorized: true } } : {}),
      guard: (req) => {
        if (req.method === 'POST') requests.push({ auth: req.headers.authorization });
        if (options.token !== undefined && req.headers.authorization !== `Bearer ${options.token}`)
          return { status: 401, code: 'UNAUTHORIZED' };
        return undefined;
      },
    },
  );
  const held = async (): Promise<Map<string, string[]>> => {
    const m = new Map<string, string[]>();
    for (const e of readdirSync(dir, { recursive: true, withFileTypes: true })) {
      if (!e.isFile()) continue;
      const p = join(e.parentPath, e.name);
      const uid = recordOfFile(p)?.sopInstanceUid;
      if (uid !== undefined) m.set(uid, [...(m.get(uid) ?? []), sha(readFileSync(p))]);
    }
    return m;
  };
  return { url: server.url, held, requests, close: () => server.close() };
}

const stowConfig = (url: string, over: Partial<StowDestinationConfig> = {}): StowDestinationConfig =>
  parseDestinationConfig({ name: 'vendor', url, ...over }) as StowDestinationConfig;

runDestinationSuite({
  name: 'STOW-RS (Veil DICOMweb server)',
  items: fileItems,
  create: async () => {
    const peer = await startStow();
    return { destination: new StowDestination(stowConfig(peer.url)), held: peer.held, cleanup: peer.close };
  },
  createRefusing: async (uid) => {
    const peer = await startStow({ refuse: uid });
    return {
      destination: new StowDestination(stowConfig(peer.url)),
      held: peer.held,
      cleanup: peer.close,
      permanent: false,
    };
  },
  createSilent: async (port, timeoutMs) =>
    new StowDestination(stowConfig(`http://127.0.0.1:${port}/dicom-web`, { timeoutSeconds: timeoutMs / 1000 })),
});

describe('STOW-RS destination', () => {
  test('sends that arrive together share requests of batchSize; the bearer token is sent and never shown', async () => {
    const token = randomBytes(24).toString('base64url');
    const tokenFile = join(newDir('token'), 'vendor.token');
    writeFileSync(tokenFile, `${token}\n`, { mode: 0o600 });
    const peer = await startStow({ token });
    // A long wait, so that batches are cut by size alone (the last one by the wait).
    const dest = new StowDestination(stowConfig(peer.url, { batchSize: 2, batchWaitMs: 1500, auth: { tokenFile } }));
    try {
      const items = deidentified();
      const receipts = await Promise.all(items.map((i) => dest.send(i)));
      // Cut by size (2) unless a send came more than the 1.5 s wait after the one before (a loaded machine).
      const batches = receipts.map((r) => Number(r.acknowledged.batch));
      assert.ok(
        batches.every((b) => b === 1 || b === 2),
        `batches ${batches}`,
      );
      assert.ok(batches.filter((b) => b === 2).length >= 2, `two instances shared a request: ${batches}`);
      assert.ok(
        dest.requests >= Math.ceil(items.length / 2) && dest.requests < items.length,
        `${dest.requests} requests`,
      );
      assert.ok(receipts.every((r) => r.acknowledged.httpStatus === 200 && !JSON.stringify(r).includes(token)));
      assert.ok(peer.requests.every((r) => r.auth === `Bearer ${token}`));
      // A wrong token: refused, retryable (the operator can fix the file; the next try reads it again).
      writeFileSync(tokenFile, 'wrong\n');
      const other = new StowDestination(stowConfig(peer.url, { auth: { tokenFile } }));
      const e = await other.send(items[0]!).then(
        () => undefined,
        (x: unknown) => x,
      );
      assert.ok(e instanceof DeliveryError);
      // The server answers 401 and closes without reading the body: the client sees the 401, or the reset first.
      assert.match(e.code, /^DEST_(HTTP_401|DICOMWEB_HTTP_ERROR)$/);
      assert.equal(e.permanent, false);
      await other.close();
    } finally {
      await dest.close();
      await peer.close();
    }
  });
});

// ----------------------------------------------------------------------------------------------------------- S3

describe('S3 (s3rver on 127.0.0.1)', () => {
  let s3rver: S3rver;
  let endpoint = '';
  const credentialsFile = join(tmp, 's3-credentials.json');
  let buckets = 0;
  before(async () => {
    writeFileSync(credentialsFile, JSON.stringify({ accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' }), {
      mode: 0o600,
    });
    s3rver = new S3rver({
      address: '127.0.0.1',
      port: 0,
      silent: true,
      directory: newDir('s3rver'),
      configureBuckets: Array.from({ length: 8 }, (_, i) => ({ name: `bucket${i + 1}`, configs: [] })),
    });
    const { port } = (await s3rver.run()) as unknown as { port: number };
    endpoint = `http://127.0.0.1:${port}`;
  });
  after(async () => {
    await s3rver.close();
  });

  const s3Config = (over: Partial<S3DestinationConfig> = {}): S3DestinationConfig =>
    parseDestinationConfig({
      name: 'bucket',
      url: `s3://bucket${++buckets}/trial-7`,
      s3: { endpoint, forcePathStyle: true, credentialsFile },
      ...over,
    }) as S3DestinationConfig;

  const client = (): S3Client =>
    new S3Client({
      region: 'us-east-1',
      endpoint,
      forcePathStyle: true,
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    });

  async function heldIn(bucket: string): Promise<Map<string, string[]>> {
    const c = client();
    const m = new Map<string, string[]>();
    const list = await c.send(new ListObjectsV2Command({ Bucket: bucket }));
    for (const o of list.Contents ?? []) {
      const got = await c.send(new GetObjectCommand({ Bucket: bucket, Key: o.Key! }));
      const bytes = await got.Body!.transformToByteArray();
      const uid = basename(o.Key!, '.dcm');
      m.set(uid, [...(m.get(uid) ?? []), sha(bytes)]);
    }
    c.destroy();
    return m;
  }

  runDestinationSuite({
    name: 'S3 (s3rver)',
    items: fileItems,
    create: async () => {
      const config = s3Config();
      const bucket = config.url.slice(5).split('/')[0]!;
      return { destination: new S3Destination(config), held: () => heldIn(bucket) };
    },
    createSilent: async (port, timeoutMs) =>
      new S3Destination(
        parseDestinationConfig({
          name: 'silent',
          url: 's3://silent/x',
          s3: { endpoint: `http://127.0.0.1:${port}`, forcePathStyle: true, credentialsFile },
          timeoutSeconds: timeoutMs / 1000,
        }) as S3DestinationConfig,
      ),
  });

  test('a file over one part goes up as a multipart upload, whole; keys follow the hierarchy', async () => {
    // A real CT slice with a 12 MB private blob inserted by the core rewriter: 3 parts of 5 MB.
    const src = readFileSync(join(corpusDir, PICKS[0]!));
    const file = scanFile(new Uint8Array(src));
    const enc = new TextEncoder();
    const big = rewrite(file, [
      { op: 'insert', container: file.dataset, tag: 0x00090010, vr: 'LO', value: enc.encode('VEIL TEST ') },
      { op: 'insert', container: file.dataset, tag: 0x00091010, vr: 'OB', value: randomBytes(12 * 1024 * 1024) },
    ]);
    const path = join(newDir('big'), 'big.dcm');
    writeFileSync(path, big);
    const item: OutgoingInstance = { ...deidentified()[0]!, jobId: 'big', path, size: big.length };
    const config = s3Config({ partSizeMB: 5 });
    const dest = new S3Destination(config);
    const receipt = await dest.send(item);
    await dest.close();
    assert.equal(receipt.acknowledged.multipart, true);
    assert.equal(receipt.acknowledged.key, `trial-7/${item.hierarchy}/${item.sopInstanceUid}.dcm`);
    const held = await heldIn(config.url.slice(5).split('/')[0]!);
    assert.deepEqual(held.get(item.sopInstanceUid), [sha(big)]);
  });
});

// ------------------------------------------------------------------------------------------------------- config

test('gateway configuration: destinations named by URL take their kind from it', () => {
  const c = parseServerConfig({
    spool: '/tmp/spool',
    store: { kind: 'sqlite', path: '/tmp/x.db' },
    destinations: [
      { name: 'out', url: './out' },
      { name: 'pacs', url: 'dicom://PACS@10.0.0.5:104', retryStatuses: ['A7xx'] },
      { name: 'vendor', url: 'https://ai.example/dicom-web', auth: { tokenEnv: 'VENDOR_TOKEN' } },
      { name: 'bucket', url: 's3://research/trial-7', s3: { region: 'eu-west-1' } },
    ],
  });
  assert.deepEqual(
    c.destinations.map((d) => d.kind),
    ['folder', 'dimse', 'stow', 's3'],
  );
  const folder = c.destinations[0]!;
  assert.equal(folder.kind === 'folder' && folder.path, './out');
  assert.throws(() => parseDestinationConfig({ name: 'x', url: 'dicom://nope' }), /url/);
  assert.throws(() => parseDestinationConfig({ name: 'x', url: 's3://B/x' }), /url/);
});

// ------------------------------------------------------------------------------------------------------ gateway

test('veil serve delivers to a dicom:// destination and audits what the peer acknowledged', async () => {
  const dir = newDir('gateway');
  const inbox = join(dir, 'inbox');
  mkdirSync(inbox);
  const { path: keyPath, key } = keyFile(dir);
  const files = pick(buildCorpus(key), 3, true);
  const scp = await startScp();
  const server = await startServer({
    config: loadServerConfig(
      writeConfig(dir, {
        deid: HEADER_ONLY_DEID,
        spool: './spool',
        store: { kind: 'sqlite', path: './veil.db' },
        key: { file: keyPath },
        ingress: [{ name: 'inbox', kind: 'folder', path: './inbox', pollMs: 100, settleMs: 50 }],
        destinations: [{ name: 'pacs', url: `dicom://DEST@127.0.0.1:${scp.port}` }],
        studies: { stableAfterSeconds: 0.2 },
        sweepSeconds: 0.2,
        http: false,
        log: { level: 'warn' },
      }),
    ),
    key,
    role: 'all',
    obs: createObservability({ level: 'silent', role: 'all' }),
  });
  try {
    for (const [i, f] of files.entries()) drop(f, inbox, `in-${i}.dcm`);
    await waitFor('three jobs done', async () => ((await server.store.countJobs()).done === 3 ? true : undefined));
    for (const f of files) {
      assert.equal(f.expect.outcome, 'delivered');
      if (f.expect.outcome === 'delivered') assert.ok(scp.held.has(f.expect.sopInstanceUid), 'held by the SCP');
    }
    const acks = (await server.store.listAudit({ limit: 10_000 })).filter((a) => a.event === 'delivery.acknowledged');
    assert.equal(acks.length, 3);
    for (const a of acks) {
      assert.equal(a.detail.destination, 'pacs');
      assert.equal(a.detail.peer, `dicom://DEST@127.0.0.1:${scp.port}`);
      assert.equal(a.detail.status, '0x0000');
    }
  } finally {
    await server.close();
    await scp.close();
  }
});

// ---------------------------------------------------------------------------------------------------------- TLS

describe('TLS towards the peer', { skip: hasOpenssl ? false : 'openssl is not installed' }, () => {
  const dir = join(tmp, 'tls');
  let pem: Record<string, string> = {};
  before(() => {
    mkdirSync(dir);
    pem = makeCerts(dir);
  });
  const files = (client: 'client' | 'intruder') => ({
    ca: join(dir, 'ca.crt'),
    cert: join(dir, `${client}.crt`),
    key: join(dir, `${client}.key`),
  });

  test('C-STORE over DICOM TLS with a client certificate; a certificate of another CA is refused', async () => {
    const scp = await startScp(undefined, { key: pem['server.key']!, cert: pem['server.crt']!, ca: pem['ca.crt']! });
    const good = new DimseDestination(dimseConfig(scp.port, { tls: files('client') }));
    const rogue = new DimseDestination(dimseConfig(scp.port, { tls: files('intruder'), timeoutSeconds: 5 }));
    try {
      const item = deidentified()[0]!;
      const r = await good.send(item);
      assert.equal(r.acknowledged.status, '0x0000');
      assert.ok(scp.held.has(item.sopInstanceUid));
      const e = await rogue.send(deidentified()[1]!).then(
        () => undefined,
        (x: unknown) => x,
      );
      assert.ok(e instanceof DeliveryError, 'refused');
      assert.equal(e.permanent, false);
      assert.equal(scp.held.size, 1);
    } finally {
      await good.close();
      await rogue.close();
      await scp.close();
    }
  });

  test('STOW-RS over mutual TLS; a certificate of another CA is refused', async () => {
    const peer = await startStow({ tls: { key: pem['server.key']!, cert: pem['server.crt']!, ca: pem['ca.crt']! } });
    assert.match(peer.url, /^https:/);
    const good = new StowDestination(stowConfig(peer.url, { tls: files('client') }));
    const rogue = new StowDestination(stowConfig(peer.url, { tls: files('intruder'), timeoutSeconds: 5 }));
    try {
      const item = deidentified()[0]!;
      const r = await good.send(item);
      assert.equal(r.acknowledged.httpStatus, 200);
      const e = await rogue.send(deidentified()[1]!).then(
        () => undefined,
        (x: unknown) => x,
      );
      assert.ok(e instanceof DeliveryError, 'refused');
      assert.equal(e.permanent, false);
      const held = await peer.held();
      assert.deepEqual([...held.keys()], [item.sopInstanceUid]);
    } finally {
      await good.close();
      await rogue.close();
      await peer.close();
    }
  });
});
