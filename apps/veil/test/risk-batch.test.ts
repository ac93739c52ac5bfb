/**
 * The gateway's batch risk report (server/risk-batch.ts, risk/batch.ts): quasi-identifier rows stored as JSON (as the
 * pull store keeps them) give the same assessment as `veil risk` reading the same files; delivered instances
 * without a stored row are counted, not guessed; the newest batch report is the one served as latest; a batch with
 * no stored row writes nothing. Real files of ../shared/data/dicom.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { scanFile } from '@veil/core';
import type { JsonObject, PullInstance } from '@veil/pipeline';
import { openFileSource } from '../src/io/file-source.ts';
import { instanceQuasiIdentifiers } from '../src/risk/quasi-identifiers.ts';
import { buildRiskReport, type RiskReportJson } from '../src/risk/run.ts';
import { latestRiskReport, writeBatchRisk } from '../src/server/risk-batch.ts';
import { corpusDir } from './server-support.ts';

const tmp = mkdtempSync(join(tmpdir(), 'veil-risk-batch-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const dir = join(corpusDir, 'dcm_qa_ct');

function files(): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && !/\.(txt|md|json|nii|gz|bvec|bval|sh)$/i.test(e.name))
    .map((e) => join(e.parentPath, e.name))
    .filter((p) => {
      try {
        scanFile(new Uint8Array(readFileSync(p)));
        return true;
      } catch {
        return false;
      }
    })
    .sort()
    .filter((_, i, all) => i % Math.max(1, Math.floor(all.length / 12)) === 0)
    .slice(0, 12);
}

function stored(paths: readonly string[]): PullInstance[] {
  return paths.map((p, i) => {
    const src = openFileSource(p);
    try {
      const qi = instanceQuasiIdentifiers(scanFile(src));
      return { line: 2, jobId: `job${i}`, qi: JSON.parse(JSON.stringify(qi)) as JsonObject };
    } finally {
      src.close();
    }
  });
}

test('stored quasi-identifier rows: the same result as veil risk on the files; uncaptured counted', async () => {
  const paths = files();
  assert.ok(paths.length >= 4, 'corpus files');
  const rows = stored(paths);
  // One delivered instance lost its row (a crash between delivery and record): counted as uncaptured.
  const withGap = [...rows.slice(0, -1), { ...rows.at(-1)!, qi: null }];
  const risk = await writeBatchRisk({
    root: tmp,
    batch: 'pull-a',
    instances: withGap,
    delivered: rows.length,
    k: 5,
    l: 2,
  });
  assert.ok(risk);
  const direct = buildRiskReport(paths.slice(0, -1), { k: 5, l: 2, unit: 'study' });
  const report = JSON.parse(readFileSync(risk.json, 'utf8')) as RiskReportJson;
  assert.deepEqual(report.result.released, direct.result.released);
  assert.deepEqual(report.result.quasiIdentifiers, direct.result.quasiIdentifiers);
  assert.equal(report.result.records, direct.result.records);
  assert.ok(direct.result.records >= 3, `${direct.result.records} studies`);
  assert.equal(risk.uncaptured, 1);
  assert.equal(risk.files, rows.length - 1);
  assert.equal(risk.k, direct.result.released.k);
  assert.equal(risk.belowThreshold, direct.result.released.k < 5);
  assert.match(readFileSync(risk.html, 'utf8'), /<svg/);
});

test('the latest report is the newest batch; none without rows', async () => {
  const rows = stored(files().slice(0, 2));
  const a = await writeBatchRisk({ root: join(tmp, 'l'), batch: 'pull-1', instances: rows, delivered: 2, k: 2, l: 2 });
  const b = await writeBatchRisk({
    root: join(tmp, 'l'),
    batch: 'pull-2',
    instances: rows.slice(0, 1),
    delivered: 1,
    k: 2,
    l: 2,
  });
  assert.ok(a && b);
  utimesSync(a.json, new Date(), new Date(Date.now() + 5000));
  const latest = JSON.parse(latestRiskReport(join(tmp, 'l'), 'json')!) as RiskReportJson;
  assert.equal(latest.run.files, 2, 'pull-1, touched last');
  assert.match(latestRiskReport(join(tmp, 'l'), 'html')!, /<html/i);
  assert.equal(latestRiskReport(join(tmp, 'none'), 'json'), undefined);
  const none = await writeBatchRisk({
    root: join(tmp, 'l'),
    batch: 'pull-3',
    instances: [{ line: 2, jobId: 'x', qi: null }],
    delivered: 1,
    k: 2,
    l: 2,
  });
  assert.equal(none, undefined);
});
