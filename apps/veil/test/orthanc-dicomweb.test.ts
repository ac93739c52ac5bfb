/**
 * Veil's DICOMweb client against a real PACS: a throwaway Orthanc with its DICOMweb plugin, on loopback.
 *  - STOW-RS of the 23-file corpus (Veil client -> Orthanc /dicom-web/studies): Orthanc holds every instance, and
 *    the data set it stored (the bytes after its file meta, which Orthanc may rewrite) equals the original's;
 *  - QIDO-RS finds the MR study, its series and instances; WADO-RS pulls the study back, and each pulled file's
 *    data set equals the original's; the same through `veil dicomweb-pull`.
 * Skipped where Orthanc or its DICOMweb plugin is not installed (scripts/test.sh installs both).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { findElement, readString, scanFile } from '@veil/core';
import { DicomwebClient, retrieveToFolder, stowFileFromPath } from '@veil/dicomweb';
import {
  corpusAvailable,
  corpusPaths,
  MR_STUDY_UID,
  repoRoot,
} from '../../../packages/dicomweb/test/support/corpus.ts';
import { type Orthanc, orthancDicomWebAvailable, startOrthanc } from '../../../test/support/orthanc.ts';

const skip = !corpusAvailable()
  ? 'shared test data not found'
  : !orthancDicomWebAvailable()
    ? 'Orthanc with the DICOMweb plugin is not installed (apt-get install orthanc orthanc-dicomweb)'
    : false;

/** The data set bytes of a Part 10 file (after its meta) and its SOP Instance UID. */
function datasetOf(bytes: Uint8Array): { uid: string; study: string; dataset: Buffer } {
  const f = scanFile(bytes);
  const text = (tag: number): string => readString(findElement(f.dataset, tag)!).replace(/[\0 ]+$/, '');
  return { uid: text(0x00080018), study: text(0x0020000d), dataset: Buffer.from(bytes.subarray(f.datasetOffset)) };
}

describe('Veil DICOMweb client with Orthanc', { skip }, () => {
  let orthanc: Orthanc;
  let client: DicomwebClient;
  const tmpRoot = mkdtempSync(join(tmpdir(), 'veil-orthanc-dw-'));
  const originals = new Map<string, Buffer>();
  const studyUids = new Set<string>();

  before(async () => {
    for (const p of corpusPaths()) {
      const d = datasetOf(readFileSync(p));
      originals.set(d.uid, d.dataset);
      studyUids.add(d.study);
    }
    orthanc = await startOrthanc();
    client = new DicomwebClient({ baseUrl: orthanc.dicomWebUrl! });
  });
  after(async () => {
    await orthanc?.stop();
    rmSync(tmpRoot, { recursive: true, force: true });
  });

  test('STOW-RS into Orthanc: every instance stored, data sets byte-identical', async () => {
    const files = await Promise.all(corpusPaths().map((p) => stowFileFromPath(p)));
    const result = await client.stow(files, { maxInstancesPerRequest: 8 });
    assert.deepEqual(
      result.requests.map((r) => r.httpStatus),
      [200, 200, 200],
    );
    assert.equal(result.stored, files.length);
    const ids = await orthanc.json<string[]>('GET', '/instances');
    assert.equal(ids.length, files.length);
    const seen = new Set<string>();
    for (const id of ids) {
      const r = await orthanc.rest('GET', `/instances/${id}/file`);
      assert.equal(r.status, 200);
      const d = datasetOf(r.body);
      seen.add(d.uid);
      assert.ok(originals.has(d.uid), 'Orthanc holds an instance Veil sent');
      assert.ok(d.dataset.equals(originals.get(d.uid)!), `data set of ${id} identical`);
    }
    assert.equal(seen.size, files.length);
  });

  test('QIDO-RS + WADO-RS pull of a study from Orthanc: data sets byte-identical', async () => {
    const studies = await client.searchStudies({ StudyInstanceUID: MR_STUDY_UID });
    assert.equal(studies.length, 1);
    assert.deepEqual(studies[0]!['00201208']?.Value, [4]);
    const series = await client.searchSeries(MR_STUDY_UID);
    assert.equal(series.length, 1);
    const instances = await client.searchInstances(MR_STUDY_UID, series[0]!['0020000E']!.Value![0] as string);
    assert.equal(instances.length, 4);
    assert.equal((await client.searchStudies()).length, studyUids.size);

    const got = await retrieveToFolder(client, { studyInstanceUid: MR_STUDY_UID }, join(tmpRoot, 'pulled'));
    assert.equal(got.files.length, 4);
    for (const f of got.files) {
      const d = datasetOf(readFileSync(f.path));
      assert.ok(d.dataset.equals(originals.get(d.uid)!), 'pulled data set identical');
    }
  });

  test('veil dicomweb-pull from Orthanc', () => {
    const env: NodeJS.ProcessEnv = { ...process.env };
    delete env.NODE_TEST_CONTEXT;
    delete env.NODE_OPTIONS;
    const out = join(tmpRoot, 'cli');
    const r = spawnSync(
      process.execPath,
      [
        join(repoRoot, 'apps/veil/bin/veil.mjs'),
        'dicomweb-pull',
        '--from',
        orthanc.dicomWebUrl!,
        '--study',
        MR_STUDY_UID,
        '--out',
        out,
      ],
      { env, encoding: 'utf8', timeout: 60_000 },
    );
    assert.equal(r.status, 0, r.stderr);
    const files = readdirSync(out).filter((f) => f.endsWith('.dcm'));
    assert.equal(files.length, 4);
    for (const f of files) {
      const d = datasetOf(readFileSync(join(out, f)));
      assert.ok(d.dataset.equals(originals.get(d.uid)!));
    }
  });
});
