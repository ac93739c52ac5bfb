/**
 * QIDO-RS matching and aggregation over an in-memory DicomwebStore, media types and Accept negotiation, and the
 * incremental file-meta reader the STOW-RS server uses to refuse non-DICOM parts early.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import type { DicomJsonObject } from '@veil/core';
import {
  type DicomwebStore,
  formatMediaType,
  handleQido,
  type InstanceRecord,
  isDicomwebError,
  matchesAttribute,
  negotiateRetrieve,
  parseAccept,
  parseMediaType,
  parseQidoQuery,
  readPart10Meta,
} from '../src/index.ts';
import { corpusAvailable, dicomDir } from './support/corpus.ts';

const rec = (study: string, series: string, sop: string, attrs: DicomJsonObject): InstanceRecord => ({
  studyInstanceUid: study,
  seriesInstanceUid: series,
  sopInstanceUid: sop,
  sopClassUid: '1.2.840.10008.5.1.4.1.1.2',
  transferSyntaxUid: '1.2.840.10008.1.2.1',
  attributes: attrs,
});

const patient = (name: string, id: string, date: string, modality: string): DicomJsonObject => ({
  '00100010': { vr: 'PN', Value: [{ Alphabetic: name }] },
  '00100020': { vr: 'LO', Value: [id] },
  '00080020': { vr: 'DA', Value: [date] },
  '00080060': { vr: 'CS', Value: [modality] },
  '00081030': { vr: 'LO', Value: ['Chest CT'] },
});

const records = [
  rec('1.1', '1.1.1', '1.1.1.1', patient('Doe^Jane', 'P1', '20240105', 'CT')),
  rec('1.1', '1.1.1', '1.1.1.2', patient('Doe^Jane', 'P1', '20240105', 'CT')),
  rec('1.1', '1.1.2', '1.1.2.1', patient('Doe^Jane', 'P1', '20240105', 'SR')),
  rec('2.1', '2.1.1', '2.1.1.1', patient('Roe^Richard', 'P2', '20231231', 'MR')),
];
const store: DicomwebStore = { instances: () => records, open: () => undefined };
const opts = { signal: new AbortController().signal, retrieveBase: 'http://h/dw' };
const q = (s: string) => new URLSearchParams(s);
const uids = (r: { body: DicomJsonObject[] }, tag = '0020000D') => r.body.map((o) => o[tag]?.Value?.[0]);

describe('QIDO-RS', () => {
  test('studies: matching by keyword and tag, wildcards, ranges, UID lists, computed attributes', async () => {
    const all = await handleQido('studies', {}, q(''), store, opts);
    assert.deepEqual(uids(all), ['1.1', '2.1']);
    const s1 = all.body[0]!;
    assert.deepEqual(s1['00080061']?.Value, ['CT', 'SR']);
    assert.deepEqual(s1['00201206']?.Value, [2]);
    assert.deepEqual(s1['00201208']?.Value, [3]);
    assert.deepEqual(s1['00081190']?.Value, ['http://h/dw/studies/1.1']);
    assert.equal(s1['00080060'], undefined, 'series-level attributes are not study results');
    assert.deepEqual(uids(await handleQido('studies', {}, q('PatientID=P2'), store, opts)), ['2.1']);
    assert.deepEqual(uids(await handleQido('studies', {}, q('00100020=P1'), store, opts)), ['1.1']);
    assert.deepEqual(uids(await handleQido('studies', {}, q('PatientName=doe*'), store, opts)), ['1.1']);
    assert.deepEqual(uids(await handleQido('studies', {}, q('PatientName=R?e^Richard'), store, opts)), ['2.1']);
    assert.deepEqual(uids(await handleQido('studies', {}, q('StudyDate=20240101-'), store, opts)), ['1.1']);
    assert.deepEqual(uids(await handleQido('studies', {}, q('StudyDate=-20231231'), store, opts)), ['2.1']);
    assert.deepEqual(uids(await handleQido('studies', {}, q('StudyInstanceUID=2.1,9.9'), store, opts)), ['2.1']);
    assert.deepEqual(uids(await handleQido('studies', {}, q('ModalitiesInStudy=SR'), store, opts)), ['1.1']);
    assert.deepEqual(
      uids(await handleQido('studies', {}, q('StudyDescription=Chest CT&PatientID=P9'), store, opts)),
      [],
    );
  });

  test('series and instances, nested and flat; includefield, limit and offset', async () => {
    const series = await handleQido('series', { studyInstanceUid: '1.1' }, q(''), store, opts);
    assert.deepEqual(uids(series, '0020000E'), ['1.1.1', '1.1.2']);
    assert.deepEqual(series.body[0]!['00201209']?.Value, [2]);
    const flat = await handleQido('series', {}, q('Modality=MR'), store, opts);
    assert.deepEqual(uids(flat, '0020000E'), ['2.1.1']);
    assert.ok(flat.body[0]!['00100020'], 'flat series results carry study attributes');
    const inst = await handleQido(
      'instances',
      { studyInstanceUid: '1.1', seriesInstanceUid: '1.1.1' },
      q(''),
      store,
      opts,
    );
    assert.deepEqual(uids(inst, '00080018'), ['1.1.1.1', '1.1.1.2']);
    assert.deepEqual(inst.body[0]!['00081190']?.Value, ['http://h/dw/studies/1.1/series/1.1.1/instances/1.1.1.1']);
    const paged = await handleQido('instances', {}, q('limit=2&offset=1'), store, opts);
    assert.deepEqual(uids(paged, '00080018'), ['1.1.1.2', '1.1.2.1']);
    assert.match(paged.warnings[0] ?? '', /1 additional result/);
    const withField = await handleQido('studies', {}, q('includefield=StudyDescription'), store, opts);
    assert.deepEqual(withField.body[0]!['00081030']?.Value, ['Chest CT']);
  });

  test('unknown keys and bad paging are 400 with a code', async () => {
    for (const bad of ['NotAKeyword=1', 'limit=-1', 'includefield=Nope', '00081111.00081150=1']) {
      const r = await handleQido('studies', {}, q(bad), store, opts);
      assert.equal(r.status, 400, bad);
      assert.match(r.warnings[0] ?? '', /^DICOMWEB_BAD_QUERY/);
    }
    assert.throws(
      () => parseQidoQuery(q('x=1')),
      (e) => isDicomwebError(e) && e.code === 'DICOMWEB_BAD_QUERY',
    );
  });

  test('matchesAttribute: universal, numbers, multi-valued, missing values', () => {
    assert.ok(matchesAttribute(undefined, ''));
    assert.ok(!matchesAttribute(undefined, 'x'));
    assert.ok(!matchesAttribute({ vr: 'LO' }, 'x'));
    assert.ok(matchesAttribute({ vr: 'IS', Value: [12] }, '12'));
    assert.ok(matchesAttribute({ vr: 'CS', Value: ['ORIGINAL', 'PRIMARY'] }, 'PRIMARY'));
    assert.ok(!matchesAttribute({ vr: 'LO', Value: ['abc'] }, 'ABC'), 'text other than PN is case-sensitive');
    assert.ok(matchesAttribute({ vr: 'TM', Value: ['103059.5'] }, '1000-1030'));
    assert.ok(matchesAttribute({ vr: 'DT', Value: ['20240105103000+0100'] }, '20240105-20240106'));
    assert.ok(
      matchesAttribute({ vr: 'PN', Value: [{ Alphabetic: 'Yamada^Tarou', Ideographic: '山田^太郎' }] }, '山田*'),
    );
  });
});

describe('media types', () => {
  test('parse, quote, Accept order, WADO-RS negotiation', () => {
    const mt = parseMediaType('Multipart/Related; type="application/dicom"; boundary="a b;c"');
    assert.equal(mt?.type, 'multipart/related');
    assert.equal(mt?.params.get('boundary'), 'a b;c');
    assert.equal(
      formatMediaType('multipart/related', { type: 'application/dicom', boundary: 'x' }),
      'multipart/related; type="application/dicom"; boundary=x',
    );
    assert.deepEqual(
      parseAccept('text/html;q=0.1, application/dicom+json, */*;q=0.5').map((r) => r.type),
      ['application/dicom+json', '*/*', 'text/html'],
    );
    assert.equal(negotiateRetrieve(undefined), '*');
    assert.equal(negotiateRetrieve('multipart/related; type="application/dicom"'), '*');
    assert.equal(
      negotiateRetrieve('multipart/related; type=application/dicom; transfer-syntax=1.2.840.10008.1.2.1'),
      '1.2.840.10008.1.2.1',
    );
    assert.equal(negotiateRetrieve('multipart/related; type="image/jpeg"'), undefined);
    assert.equal(negotiateRetrieve('application/dicom+json'), undefined);
  });
});

describe('readPart10Meta', { skip: corpusAvailable() ? false : 'shared test data not found' }, () => {
  test('asks for more bytes until the meta is complete, then reads its UIDs; refuses non-DICOM', () => {
    const bytes = new Uint8Array(readFileSync(join(dicomDir, 'dcm4che/test-data/CT-JPEGLosslessSV1.dcm')));
    let n = 0;
    let meta = readPart10Meta(bytes.subarray(0, n), false);
    while (meta === 'more') meta = readPart10Meta(bytes.subarray(0, ++n), false);
    assert.ok(n > 132 && n < 1000);
    assert.equal(meta.transferSyntaxUid, '1.2.840.10008.1.2.4.70');
    assert.equal(meta.sopClassUid, '1.2.840.10008.5.1.4.1.1.2');
    assert.throws(
      () => readPart10Meta(new Uint8Array(200), false),
      (e) => isDicomwebError(e) && e.code === 'DICOMWEB_NOT_PART10',
    );
    assert.throws(
      () => readPart10Meta(bytes.subarray(0, 150), true),
      (e) => isDicomwebError(e) && e.code === 'DICOMWEB_NOT_PART10',
    );
  });
});
