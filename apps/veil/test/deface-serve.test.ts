/**
 * `veil serve` with pixels.cleanRecognizableVisualFeatures: true, end to end on ../shared/data (in process through
 * startServer; SQLite store, embedded queue, folder inbox, folder destination). Dropped into the inbox: every 4th
 * slice of the UIH head MR (40 sagittal slices, 4 mm apart: the detector still finds the face, as on the full
 * series) and a lone JPEG Lossless CT slice of another study (one slice cannot show whether a face is there).
 *
 * The burned-in text stage (on by default) is switched off here: this test is about the defacing, and OCR on every
 * slice, twice, would make it minutes long. Each image is first held (DEFACE_PENDING) until its study is stable; the series pass then decides, and the jobs
 * are released back through the one release path. Checks: the 40 MR outputs are delivered defaced (every changed
 * voxel inside the face region of the detector run on the input, the nose surface moved back >= 15 mm, no head voxel
 * left in the region), each with Recognizable Visual Features NO and code 113102; the CT slice is held with
 * DEFACE_UNCERTAIN and nothing of it is delivered; the decision files are gone once the jobs are done.
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type DicomFile, findElement, readString, scanFile } from '@veil/core';
import {
  assembleVolume,
  countResidual,
  detectFace,
  inFaceRegion,
  readInstance,
  readNativeFrames,
} from '@veil/pixels/deface';
import { movedBack } from '../src/deface/run.ts';
import { openStore } from '../src/server/backends.ts';
import { loadServerConfig } from '../src/server/config.ts';
import { createObservability } from '../src/server/observe.ts';
import { type ServerHandle, startServer } from '../src/server/server.ts';
import { corpusDir, ensureDir, filesUnder, keyFile, waitFor, writeConfig } from './server-support.ts';

const MR = join(corpusDir, 'dcm_qa_uih', 'DTI_132225', 't1_gre_fsp_3d_sag__132750');
const JPEG = join(corpusDir, 'dcm4che', 'test-data', 'CT-JPEGLosslessSV1.dcm');
const INSTANCE_NUMBER = 0x00200013;

const root = mkdtempSync(join(tmpdir(), 'veil-deface-serve-'));
after(() => rmSync(root, { recursive: true, force: true }));

function scan(path: string): DicomFile {
  return scanFile(new Uint8Array(readFileSync(path)));
}

function volumeOf(files: readonly DicomFile[]) {
  return assembleVolume(
    files.map((file, key) => {
      const info = readInstance(file);
      return { key, info, pixels: readNativeFrames(file, info) };
    }),
  );
}

describe('veil serve defaces whole series once the study is stable', () => {
  const dir = ensureDir(join(root, 'serve'));
  const inbox = ensureDir(join(dir, 'inbox'));
  const out = join(dir, 'out');
  const { path: keyPath, key } = keyFile(dir);
  const slices = readdirSync(MR)
    .filter((n) => n.endsWith('.dcm'))
    .sort()
    .filter((_, i) => i % 4 === 0);
  let server: ServerHandle;

  before(async () => {
    const configPath = writeConfig(dir, {
      spool: './spool',
      store: { kind: 'sqlite', path: './state/veil.db' },
      key: { file: keyPath },
      ingress: [{ name: 'inbox', kind: 'folder', path: './inbox', pollMs: 100, settleMs: 50 }],
      destinations: [{ name: 'out', kind: 'folder', path: './out' }],
      deid: { pixels: { cleanRecognizableVisualFeatures: true, text: { enabled: false } } },
      studies: { stableAfterSeconds: 1 },
      sweepSeconds: 0.2,
      http: false,
      log: { level: 'warn' },
    });
    server = await startServer({
      config: loadServerConfig(configPath),
      key,
      role: 'all',
      obs: createObservability({ level: 'warn', role: 'all' }),
    });
  });
  after(async () => {
    await server?.close();
  });

  test('40 MR slices delivered defaced (RVF NO, 113102); the lone CT slice held DEFACE_UNCERTAIN', async () => {
    const started = Date.now();
    for (const name of slices) {
      copyFileSync(join(MR, name), join(inbox, `.${name}.part`));
      renameSync(join(inbox, `.${name}.part`), join(inbox, name));
    }
    copyFileSync(JPEG, join(inbox, 'ct.dcm'));
    const counts = await waitFor(
      'every job decided',
      async () => {
        const c = await server.store.countJobs();
        if (c.done + c.quarantined !== slices.length + 1) return undefined;
        const held = await server.store.listQuarantine({ states: ['held'] });
        return held.some((q) => q.code === 'DEFACE_PENDING') ? undefined : c;
      },
      240_000,
      250,
    );
    process.stdout.write(`# serve: ${slices.length} MR slices + 1 CT decided in ${(Date.now() - started) / 1000} s\n`);
    assert.equal(counts.done, slices.length);
    assert.equal(counts.quarantined, 1);
    const [held] = await server.store.listQuarantine({ states: ['held'] });
    assert.equal(held?.code, 'DEFACE_UNCERTAIN');
    // Every image went through the DEFACE_PENDING hold first, and was released by the system, not an operator.
    const audit = await server.store.listAudit({});
    assert.equal(audit.filter((a) => a.event === 'deface.released').length, slices.length + 1);
    assert.ok(audit.filter((a) => a.event === 'deface.released').every((a) => a.actor === 'system'));

    // The release gate's check of the planned pixels ran on every delivered image (pixels:deface-check).
    for (const job of await server.store.listJobs({ states: ['done'] })) {
      const stages = (job.stepState.verified as { stages?: string[] } | undefined)?.stages ?? [];
      assert.ok(stages.includes('pixels:deface') && stages.includes('pixels:deface-check'), stages.join(','));
    }
    const outputs = filesUnder(out);
    assert.equal(outputs.length, slices.length, 'only the MR slices are delivered');
    const byNumber = new Map(
      slices.map((n) => [readString(findElement(scan(join(MR, n)).dataset, INSTANCE_NUMBER)!), n]),
    );
    const inputs: DicomFile[] = [];
    const written: DicomFile[] = [];
    for (const o of outputs) {
      const file = scan(o);
      assert.equal(readString(findElement(file.dataset, 0x00280302)!), 'NO');
      const codes = findElement(file.dataset, 0x00120064)!.items!.map((it) => readString(findElement(it, 0x00080100)!));
      assert.ok(codes.includes('113100') && codes.includes('113102'), codes.join(','));
      const name = byNumber.get(readString(findElement(file.dataset, INSTANCE_NUMBER)!))!;
      assert.ok(name, 'each output is one of the slices sent');
      inputs.push(scan(join(MR, name)));
      written.push(file);
    }
    // The face region of the detector run on what was sent; the output changed only there, and enough.
    const before = volumeOf(inputs);
    const afterVolume = volumeOf(written);
    const detection = detectFace(before);
    assert.equal(detection.verdict, 'present');
    let changed = 0;
    let outside = 0;
    for (let k = 0; k < before.frames.length; k++) {
      const a = before.frames[k]!;
      const b = afterVolume.frames[k]!;
      const { rows, columns, spacing, rowDirection: r, columnDirection: c } = before;
      assert.deepEqual(a.position, b.position);
      for (let j = 0; j < rows; j++) {
        for (let i = 0; i < columns; i++) {
          const n = j * columns + i;
          if (a.pixels[n] === b.pixels[n]) continue;
          changed++;
          const p = [0, 1, 2].map((ax) => a.position[ax]! + i * spacing[0] * r[ax]! + j * spacing[1] * c[ax]!) as [
            number,
            number,
            number,
          ];
          if (!inFaceRegion(detection.plane!, p)) outside++;
        }
      }
    }
    const moved = movedBack(before, afterVolume, detection, false);
    process.stdout.write(
      `# serve: ${changed} voxels changed, ${outside} outside the face region; nose surface moved back ${moved.nose.toFixed(0)} mm\n`,
    );
    assert.ok(changed > 100_000, `${changed} voxels changed`);
    assert.equal(outside, 0);
    assert.ok(moved.nose >= 15, `nose moved back ${moved.nose} mm`);
    assert.equal(countResidual(afterVolume, detection), 0);

    // The decisions of delivered jobs are removed with their spool files; the held one keeps its decision.
    const left = readdirSync(join(dir, 'spool', 'deface')).filter((n) => n.endsWith('.json'));
    assert.equal(left.length, 1);
  });
});

describe('a study that became stable while its pass could not run is decided at start-up', () => {
  test('the lone CT slice: held DEFACE_PENDING, gateway stopped, study settled, restarted: decided (DEFACE_UNCERTAIN)', async () => {
    const dir = ensureDir(join(root, 'restart'));
    const inbox = ensureDir(join(dir, 'inbox'));
    const { path: keyPath, key } = keyFile(dir);
    const configPath = writeConfig(dir, {
      spool: './spool',
      store: { kind: 'sqlite', path: './state/veil.db' },
      key: { file: keyPath },
      ingress: [{ name: 'inbox', kind: 'folder', path: './inbox', pollMs: 100, settleMs: 50 }],
      destinations: [{ name: 'out', kind: 'folder', path: './out' }],
      deid: { pixels: { cleanRecognizableVisualFeatures: true, text: { enabled: false } } },
      // Never stable on its own while these servers run: the test settles it between the two runs.
      studies: { stableAfterSeconds: 3600 },
      sweepSeconds: 0.2,
      http: false,
      log: { level: 'warn' },
    });
    const config = loadServerConfig(configPath);
    const start = () =>
      startServer({ config, key, role: 'all', obs: createObservability({ level: 'warn', role: 'all' }) });
    const first = await start();
    try {
      copyFileSync(JPEG, join(inbox, 'ct.dcm'));
      const [held] = await waitFor('held', async () => {
        const q = await first.store.listQuarantine({ states: ['held'] });
        return q.length === 1 ? q : undefined;
      });
      assert.equal(held!.code, 'DEFACE_PENDING');
    } finally {
      await first.close();
    }
    const store = await openStore(config.server.store);
    await store.init();
    try {
      const settled = await store.settleStudies(Date.now() + 7_200_000, 3_600_000);
      assert.equal(settled.length, 1);
    } finally {
      await store.close();
    }
    const second = await start();
    try {
      const [held] = await waitFor('decided', async () => {
        const q = await second.store.listQuarantine({ states: ['held'] });
        return q.length === 1 && q[0]!.code !== 'DEFACE_PENDING' ? q : undefined;
      });
      assert.equal(held!.code, 'DEFACE_UNCERTAIN');
      const audit = await second.store.listAudit({});
      assert.equal(audit.filter((a) => a.event === 'deface.released').length, 1);
      assert.deepEqual(filesUnder(join(dir, 'out')), []);
    } finally {
      await second.close();
    }
  });
});
