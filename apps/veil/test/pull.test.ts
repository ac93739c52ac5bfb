/**
 * `veil pull` against dcmtk's dcmqrscp loaded with studies from ../shared/data, in a private network namespace
 * (`unshare -n`, loopback only; dcmqrscp and storescp bind every interface) where available: a 25-row list (by
 * Study Instance UID, accession number, patient ID with a date range; two rows that match nothing) pulled by C-MOVE
 * to Veil's SCP and by C-GET, de-identified and delivered to a folder, to storescp (dicom://), to Veil's own
 * DICOMweb server (STOW-RS) and to s3rver (s3://); each output compared element by element with what `veil deid`
 * makes of the same originals with the same key. Then a pull killed with SIGKILL mid-way and run again: the same
 * outputs, each once. And `--from` a DICOMweb server (Veil's dicomweb-serve over the originals).
 */
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { scanFile } from '@veil/core';
import { orthancAvailable, orthancDicomWebAvailable, startOrthanc } from '../../../test/support/orthanc.ts';
import type { PullReport } from '../src/pull/run.ts';
import {
  assertSameOutputs,
  byUid,
  dcmFiles,
  freePorts,
  haveDcmtk,
  isolated,
  pickStudies,
  run,
  type Study,
  stageOriginals,
  text,
  WEB_PICKS,
} from './pull-support.ts';
import { bin, corpusDir, HEADER_ONLY_DEID, keyFile } from './server-support.ts';

const tmp = mkdtempSync(join(tmpdir(), 'veil-pull-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

describe('veil pull from dcmqrscp', { skip: haveDcmtk ? false : 'dcmtk is not installed' }, () => {
  const storage = join(tmp, 'storage');
  const key = keyFile(tmp);
  let studies: Study[] = [];
  let expected: Map<string, Map<string, string>>;
  let ports: number[] = [];
  const list = join(tmp, 'studies.csv');
  const cfg = join(tmp, 'dcmqrscp.cfg');
  // The pixel text stage off (as the gateway tests): these tests are about pulling; the stage is tested elsewhere and
  // costs seconds per image on a loaded machine.
  const deidConfig = join(tmp, 'deid-header-only.json');

  before(async () => {
    mkdirSync(storage);
    writeFileSync(deidConfig, JSON.stringify(HEADER_ONLY_DEID));
    studies = pickStudies(storage, 23);
    assert.equal(studies.length, 23, 'enough indexable studies in ../shared/data');
    // Rows: by UID, by accession number (where one is unique), by patient ID and a date range; two that match nothing.
    const accessions = new Map<string, number>();
    for (const s of studies) accessions.set(s.accession, (accessions.get(s.accession) ?? 0) + 1);
    const patients = new Map<string, number>();
    for (const s of studies) patients.set(s.patientId, (patients.get(s.patientId) ?? 0) + 1);
    const rows = ['AccessionNumber,PatientID,StudyDate,StudyInstanceUID'];
    studies.forEach((s, i) => {
      if (
        i % 3 === 1 &&
        s.accession !== '' &&
        /^[A-Za-z0-9._-]+$/.test(s.accession) &&
        accessions.get(s.accession) === 1
      )
        rows.push(`${s.accession},,,`);
      else if (i % 3 === 2 && patients.get(s.patientId) === 1) rows.push(`,${s.patientId},${s.date}-${s.date},`);
      else rows.push(`,,,${s.uid}`);
    });
    rows.push(',,,1.2.3.4.5.6.7.8.9.0.1');
    rows.push('NOSUCHACCESSION1,,,');
    writeFileSync(list, `${rows.join('\n')}\n`);

    // What `veil deid` makes of the originals with the same key.
    const deidOut = join(tmp, 'expected');
    const r = await run(process.execPath, [
      bin,
      'deid',
      storage,
      '--out',
      deidOut,
      '--key-file',
      key.path,
      '--no-progress',
      '--config',
      deidConfig,
    ]);
    assert.ok(r.code === 0 || r.code === 1, r.stderr);
    expected = byUid(dcmFiles(deidOut).filter((f) => !f.includes('.quarantine')));
    assert.ok(expected.size >= studies.length, `${expected.size} released instances expected`);

    ports = await freePorts(6);
    writeFileSync(
      cfg,
      [
        `NetworkTCPPort = ${ports[0]}`,
        'MaxPDUSize = 65536',
        'MaxAssociations = 16',
        'HostTable BEGIN',
        `veilpull = (VEILPULL, 127.0.0.1, ${ports[1]})`,
        'HostTable END',
        'VendorTable BEGIN',
        'VendorTable END',
        'AETable BEGIN',
        `PACS ${storage} R (200, 1024mb) ANY`,
        'AETable END',
        '',
      ].join('\n'),
    );
  });

  /** Runs a bash script with dcmqrscp (and whatever it starts) in the namespace; `pull` is the veil pull prefix. */
  function script(body: string): string {
    return `
      set -u
      ${isolated ? 'ip link set lo up' : ''}
      dcmqrscp -c "${cfg}" ${ports[0]} 2>>"${cfg}.log" & Q=$!
      for i in $(seq 1 100); do echoscu -aec PACS 127.0.0.1 ${ports[0]} >/dev/null 2>&1 && break; sleep 0.05; done
      pull() { "${process.execPath}" "${bin}" pull --from PACS@127.0.0.1:${ports[0]} --list "${list}" --key-file "${key.path}" --config "${deidConfig}" --calling-ae VEILPULL "$@"; }
      rc=0
      ${body}
      kill $Q 2>/dev/null; wait 2>/dev/null; exit $rc
    `;
  }
  const inNamespace = (s: string) => (isolated ? run('unshare', ['-n', 'bash', '-c', s]) : run('bash', ['-c', s]));
  const report = (work: string): PullReport =>
    JSON.parse(readFileSync(join(work, 'pull-report.json'), 'utf8')) as PullReport;

  test('25 rows by C-MOVE into a folder, storescp, STOW-RS and S3: the outputs of veil deid, rows not found reported', async () => {
    const d = (n: string) => join(tmp, n);
    const s3dir = d('s3rver');
    mkdirSync(s3dir);
    const creds = d('s3.json');
    writeFileSync(creds, JSON.stringify({ accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' }));
    const toS3 = d('to-s3.json');
    writeFileSync(
      toS3,
      JSON.stringify({
        s3: { endpoint: `http://127.0.0.1:${ports[4]}`, forcePathStyle: true, credentialsFile: creds },
      }),
    );
    mkdirSync(d('storescp'));
    const r = await inNamespace(
      script(`
        storescp -od "${d('storescp')}" -aet STORE ${ports[2]} & S=$!
        "${join(process.cwd(), 'node_modules/.bin/s3rver')}" -d "${s3dir}" -a 127.0.0.1 -p ${ports[4]} --configure-bucket research --silent & B=$!
        "${process.execPath}" "${bin}" dicomweb-serve --dir "${d('stow')}" --port ${ports[5]} --quiet & W=$!
        for i in $(seq 1 100); do echoscu -aec STORE 127.0.0.1 ${ports[2]} >/dev/null 2>&1 && break; sleep 0.05; done
        for i in $(seq 1 200); do curl -s -o /dev/null http://127.0.0.1:${ports[5]}/dicom-web/studies && break; sleep 0.05; done
        sleep 1.5
        pull --move-ae VEILPULL --move-port ${ports[1]} --to "${d('folder')}" --work "${d('w-folder')}" --jobs 1 >/dev/null 2>"${d('folder.log')}" || rc=$?
        pull --move-ae VEILPULL --move-port ${ports[1]} --to dicom://STORE@127.0.0.1:${ports[2]} --work "${d('w-dimse')}" --jobs 1 2>"${d('dimse.log')}" >/dev/null || true
        pull --move-ae VEILPULL --move-port ${ports[1]} --to s3://research/trial --to-config "${toS3}" --work "${d('w-s3')}" --jobs 1 2>"${d('s3.log')}" >/dev/null || true
        pull --move-ae VEILPULL --move-port ${ports[1]} --to http://127.0.0.1:${ports[5]}/dicom-web --work "${d('w-stow')}" --jobs 1 2>"${d('stow.log')}" >/dev/null || true
        kill $S $B $W 2>/dev/null
      `),
    );
    // Exit 1: two rows are not found (by design).
    assert.equal(r.code, 1, `${r.stderr}\n${readFileSync(d('folder.log'), 'utf8')}`);
    for (const kind of ['folder', 'dimse', 'stow', 's3']) {
      const rep = report(d(`w-${kind}`));
      assert.deepEqual(rep.notFound, [25, 26], `${kind}: the two rows that match nothing, by line`);
      assert.deepEqual(rep.failedRows, [], `${kind}: no failed rows (${readFileSync(d(`${kind}.log`), 'utf8')})`);
      assert.equal(rep.rows.length, 25);
      assert.equal(rep.delivered, rep.outputs, `${kind}: every output delivered`);
      assert.equal(rep.outputs, expected.size, `${kind}: as many outputs as veil deid made`);
      assert.equal(existsSync(join(d(`w-${kind}`), 'raw')), false, 'the originals are removed once done');
      // The risk of the batch: one record per released study, the report beside the pull report.
      assert.ok(rep.risk && rep.risk.records >= 1 && rep.risk.records <= studies.length, `${kind}: risk measured`);
      assert.ok(existsSync(join(d(`w-${kind}`), 'risk-report.html')));
      const log = readFileSync(d(`${kind}.log`), 'utf8');
      for (const s of studies)
        assert.ok(!log.includes(s.patientId) && !log.includes(s.uid), 'no identifiers in the log');
    }
    assertSameOutputs(dcmFiles(d('folder')), expected, 'folder');
    assertSameOutputs(dcmFiles(d('storescp')), expected, 'storescp');
    assertSameOutputs(
      dcmFiles(d('stow')).filter((f) => !f.includes('incoming')),
      expected,
      'STOW-RS',
    );
    const s3files = dcmFiles(s3dir).filter((f) => /\.dcm\._S3rver_object$/.test(f));
    assertSameOutputs(s3files, expected, 's3');
  });

  test('SIGKILL during retrieval, then during STOW-RS delivery: the third run completes, each instance held once', async () => {
    const work = join(tmp, 'w-kill');
    const stow = join(tmp, 'kill-stow');
    // Requests of up to 100 instances that wait 1.5 s to fill: the delivery phase lasts long enough to be killed in.
    const slow = join(tmp, 'slow-stow.json');
    writeFileSync(slow, JSON.stringify({ batchSize: 100, batchWaitMs: 1500 }));
    const count = (what: string) => `$(grep -o '${what}' "${work}/pull-state.json" 2>/dev/null | wc -l)`;
    const r = await inNamespace(
      script(`
        "${process.execPath}" "${bin}" dicomweb-serve --dir "${stow}" --port ${ports[3]} --quiet & W=$!
        for i in $(seq 1 200); do curl -s -o /dev/null http://127.0.0.1:${ports[3]}/dicom-web/studies && break; sleep 0.05; done
        go() { pull --move-ae VEILPULL --move-port ${ports[1]} --to http://127.0.0.1:${ports[3]}/dicom-web --to-config "${slow}" --work "${work}" --jobs 1 "$@"; }
        go >/dev/null 2>/dev/null & P=$!
        for i in $(seq 1 1000); do [ ${count('"retrieved"')} -ge 5 ] && break; sleep 0.02; done
        kill -9 $P; wait $P 2>/dev/null
        echo ${count('"retrieved"')} > "${work}/killed-retrieving"
        go >/dev/null 2>"${work}/resume1.log" & P=$!
        for i in $(seq 1 3000); do [ ${count('"peer"')} -ge 4 ] && break; sleep 0.02; done
        kill -9 $P; wait $P 2>/dev/null
        echo ${count('"peer"')} > "${work}/killed-delivering"
        go >/dev/null 2>"${work}/resume2.log" || rc=$?
        kill $W 2>/dev/null
      `),
    );
    assert.equal(r.code, 1, `exit ${r.code}: ${r.stderr}`);
    const atRows = Number(readFileSync(join(work, 'killed-retrieving'), 'utf8').trim());
    assert.ok(atRows >= 5 && atRows < 23, `killed after ${atRows} rows`);
    const atDelivered = Number(readFileSync(join(work, 'killed-delivering'), 'utf8').trim());
    assert.ok(atDelivered >= 4 && atDelivered < expected.size, `killed after ${atDelivered} deliveries`);
    assert.match(readFileSync(join(work, 'resume1.log'), 'utf8'), /resuming/);
    assert.match(readFileSync(join(work, 'resume2.log'), 'utf8'), /resuming/);
    const rep = report(work);
    assert.deepEqual(rep.notFound, [25, 26]);
    assert.equal(rep.delivered, expected.size);
    assertSameOutputs(
      dcmFiles(stow).filter((f) => !f.includes('incoming')),
      expected,
      'STOW-RS after two crashes',
    );
  });
});

describe('veil pull from a DICOMweb server', () => {
  test('QIDO-RS + WADO-RS from veil dicomweb-serve: the outputs of veil deid', async () => {
    const originals = join(tmp, 'web-originals');
    const uids = stageOriginals(WEB_PICKS, originals);
    const keyDir = join(tmp, 'web-key');
    mkdirSync(keyDir);
    const key = keyFile(keyDir);
    const deidOut = join(tmp, 'web-expected');
    const d = await run(process.execPath, [
      bin,
      'deid',
      originals,
      '--out',
      deidOut,
      '--key-file',
      key.path,
      '--no-progress',
    ]);
    assert.equal(d.code, 0, d.stderr);
    const expected = byUid(dcmFiles(deidOut));
    const list = join(tmp, 'web.csv');
    writeFileSync(list, `StudyInstanceUID\n${uids.join('\n')}\n`);
    const [port] = await freePorts(1);
    const out = join(tmp, 'web-out');
    const work = join(tmp, 'w-web');
    const s = `
      "${process.execPath}" "${bin}" dicomweb-serve --dir "${originals}" --port ${port} --quiet & W=$!
      for i in $(seq 1 100); do curl -s -o /dev/null http://127.0.0.1:${port}/dicom-web/studies && break; sleep 0.05; done
      "${process.execPath}" "${bin}" pull --from http://127.0.0.1:${port}/dicom-web --list "${list}" --key-file "${key.path}" --to "${out}" --work "${work}" --jobs 1; rc=$?
      kill $W; wait 2>/dev/null; exit $rc`;
    const r = await run('bash', ['-c', s]);
    assert.equal(r.code, 0, r.stderr);
    assertSameOutputs(dcmFiles(out), expected, 'DICOMweb');
  });
});

describe('veil pull from Orthanc', { skip: orthancAvailable() ? false : 'Orthanc is not installed' }, () => {
  test('C-GET (compressed studies as stored) and QIDO-RS + WADO-RS from its DICOMweb plugin: the outputs of veil deid', async () => {
    const picks = [
      'dcm4che/test-data/CT-JPEGLosslessSV1.dcm',
      'dcm4che/test-data/MR-JPEGLosslessSV1.dcm',
      'dcm4che/test-data/NM1_JPLY',
      'dcmjs/examples/data/IM-0001-0001.dcm',
      'dcm_qa_ct/Philips/S21570/S4010/I10',
    ];
    const originals = join(tmp, 'orthanc-originals');
    mkdirSync(originals);
    const keyDir = join(tmp, 'orthanc-key');
    mkdirSync(keyDir);
    const key = keyFile(keyDir);
    for (const [i, p] of picks.entries()) copyFileSync(join(corpusDir, p), join(originals, `o${i}.dcm`));
    const d = await run(process.execPath, [
      bin,
      'deid',
      originals,
      '--out',
      join(tmp, 'orthanc-expected'),
      '--key-file',
      key.path,
      '--no-progress',
    ]);
    assert.equal(d.code, 0, d.stderr);
    const expected = byUid(dcmFiles(join(tmp, 'orthanc-expected')));
    const list = join(tmp, 'orthanc.csv');
    const uids = picks.map((p) => text(scanFile(new Uint8Array(readFileSync(join(corpusDir, p)))).dataset, 0x0020000d));
    writeFileSync(list, `StudyInstanceUID\n${[...new Set(uids)].join('\n')}\n`);
    const orthanc = await startOrthanc({ modalities: { veil: { aet: 'VEILGET', host: '127.0.0.1', port: 1 } } });
    try {
      for (const p of picks) {
        const r = await orthanc.rest('POST', '/instances', new Uint8Array(readFileSync(join(corpusDir, p))));
        assert.equal(r.status, 200);
      }
      const get = await run(process.execPath, [
        bin,
        'pull',
        '--get',
        '--from',
        `${orthanc.aet}@127.0.0.1:${orthanc.dicomPort}`,
        '--calling-ae',
        'VEILGET',
        '--list',
        list,
        '--key-file',
        key.path,
        '--to',
        join(tmp, 'orthanc-get'),
        '--work',
        join(tmp, 'w-orthanc-get'),
        '--jobs',
        '1',
      ]);
      assert.equal(get.code, 0, `${get.stderr}\n${orthanc.logTail()}`);
      assertSameOutputs(dcmFiles(join(tmp, 'orthanc-get')), expected, 'C-GET from Orthanc');
      if (orthancDicomWebAvailable() && orthanc.dicomWebUrl) {
        const web = await run(process.execPath, [
          bin,
          'pull',
          '--from',
          orthanc.dicomWebUrl,
          '--list',
          list,
          '--key-file',
          key.path,
          '--to',
          join(tmp, 'orthanc-web'),
          '--work',
          join(tmp, 'w-orthanc-web'),
          '--jobs',
          '1',
        ]);
        assert.equal(web.code, 0, web.stderr);
        assertSameOutputs(dcmFiles(join(tmp, 'orthanc-web')), expected, 'DICOMweb from Orthanc');
      }
    } finally {
      await orthanc.stop();
    }
  });
});
