/**
 * The gateway's pull job (`POST /api/pulls`) against dcmtk's dcmqrscp loaded with studies from ../shared/data, in a
 * private network namespace (`unshare -n`, loopback only) where available: a list of 10 rows (by Study Instance UID,
 * accession number, patient ID with a date range; two that match nothing) pulled by C-MOVE to the pull's SCP, taken
 * in through the gateway's normal path (jobs, route, release path, folder destination). `veil serve` is killed with
 * SIGKILL while the pull retrieves and delivers, and started again: the pull resumes and ends `done`, every instance
 * is one job delivered once, the outputs are those of `veil deid` attribute by attribute, rows not found are
 * reported by line. Then the batch's risk report: written under the spool, served by GET /api/risk/latest, the same
 * result as `veil risk` on the delivered files, a warning and a metric since k is under the threshold. An
 * unauthenticated request is refused.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { SqliteJobStore, SqlitePullStore } from '@veil/store-sqlite';
import { buildRiskReport, type RiskReportJson } from '../src/risk/run.ts';
import {
  assertSameOutputs,
  byUid,
  dcmFiles,
  freePorts,
  haveDcmtk,
  isolated,
  pickStudies,
  run,
} from './pull-support.ts';
import { bin, HEADER_ONLY_DEID, keyFile, writeConfig } from './server-support.ts';

const tmp = mkdtempSync(join(tmpdir(), 'veil-pull-serve-'));
after(() => {
  if (process.env.VEIL_TEST_KEEP !== '1') rmSync(tmp, { recursive: true, force: true });
});

test('POST /api/pulls: C-MOVE from dcmqrscp into the gateway, kill -9 and restart, each instance delivered once; risk report', {
  skip: haveDcmtk ? false : 'dcmtk is not installed',
}, async () => {
  const storage = join(tmp, 'storage');
  mkdirSync(storage);
  const studies = pickStudies(storage, 8);
  assert.equal(studies.length, 8, 'enough indexable studies in ../shared/data');
  const rows = ['AccessionNumber,PatientID,StudyDate,StudyInstanceUID'];
  const patients = new Map<string, number>();
  for (const s of studies) patients.set(s.patientId, (patients.get(s.patientId) ?? 0) + 1);
  const accessions = new Map<string, number>();
  for (const s of studies) accessions.set(s.accession, (accessions.get(s.accession) ?? 0) + 1);
  studies.forEach((s, i) => {
    if (i % 3 === 1 && /^[A-Za-z0-9._-]+$/.test(s.accession) && accessions.get(s.accession) === 1)
      rows.push(`${s.accession},,,`);
    else if (i % 3 === 2 && patients.get(s.patientId) === 1) rows.push(`,${s.patientId},${s.date}-${s.date},`);
    else rows.push(`,,,${s.uid}`);
  });
  rows.push(',,,1.2.3.4.5.6.7.8.9.0.1');
  rows.push('NOSUCHACCESSION1,,,');
  const key = keyFile(tmp);

  // What `veil deid` makes of the originals with the same key and de-identification configuration (the pixel text
  // stage off, as the other gateway tests: this test is about the pull, and the stage costs seconds per image).
  const deidConfig = join(tmp, 'deid.json');
  writeFileSync(deidConfig, JSON.stringify(HEADER_ONLY_DEID));
  const deid = await run(process.execPath, [
    bin,
    'deid',
    storage,
    '--out',
    join(tmp, 'expected'),
    '--key-file',
    key.path,
    '--no-progress',
    '--config',
    deidConfig,
  ]);
  assert.ok(deid.code === 0 || deid.code === 1, deid.stderr);
  const expected = byUid(dcmFiles(join(tmp, 'expected')).filter((f) => !f.includes('.quarantine')));
  assert.ok(expected.size >= studies.length);

  const [qrPort, movePort] = await freePorts(2);
  const cfg = join(tmp, 'dcmqrscp.cfg');
  writeFileSync(
    cfg,
    [
      `NetworkTCPPort = ${qrPort}`,
      'MaxPDUSize = 65536',
      'MaxAssociations = 16',
      'HostTable BEGIN',
      `veilgw = (VEILGW, 127.0.0.1, ${movePort})`,
      'HostTable END',
      'VendorTable BEGIN',
      'VendorTable END',
      'AETable BEGIN',
      `PACS ${storage} R (200, 1024mb) ANY`,
      'AETable END',
      '',
    ].join('\n'),
  );
  const config = writeConfig(tmp, {
    deid: HEADER_ONLY_DEID,
    spool: './spool',
    store: { kind: 'sqlite', path: './veil.db' },
    key: { file: key.path },
    ingress: [{ name: 'pacs', kind: 'folder', path: './inbox', pollMs: 200, settleMs: 0 }],
    destinations: [{ name: 'research', kind: 'folder', path: './out' }],
    delivery: { backoffSeconds: 0.2, maxBackoffSeconds: 1 },
    studies: { stableAfterSeconds: 1 },
    sweepSeconds: 0.5,
    http: { port: 0, maxRequestBytes: 4096 },
    log: { level: 'info' },
  });
  mkdirSync(join(tmp, 'inbox'));
  writeFileSync(
    join(tmp, 'body.json'),
    JSON.stringify({
      from: `PACS@127.0.0.1:${qrPort}`,
      list: `${rows.join('\n')}\n`,
      mode: 'move',
      callingAe: 'VEILGW',
      moveAe: 'VEILGW',
      movePort,
      ingress: 'pacs',
      k: 3,
      operator: 'alice',
    }),
  );
  // Over server.http.maxRequestBytes: refused before it is parsed.
  writeFileSync(join(tmp, 'big.json'), JSON.stringify({ list: 'x'.repeat(5000) }));
  const runFile = join(tmp, 'spool', 'run', 'all.json');
  const node = process.execPath;
  const t = (n: string) => join(tmp, n);
  // The run file says where the server listens and holds its admin token: read once it names this pid's port.
  const script = `
      set -u
      ${isolated ? 'ip link set lo up' : ''}
      dcmqrscp -c "${cfg}" ${qrPort} 2>>"${cfg}.log" & Q=$!
      for i in $(seq 1 100); do echoscu -aec PACS 127.0.0.1 ${qrPort} >/dev/null 2>&1 && break; sleep 0.05; done
      serve() {
        "${node}" "${bin}" serve --config "${config}" >>"${t('serve.log')}" 2>&1 & P=$!
        for i in $(seq 1 600); do
          R=$("${node}" -e 'try{const r=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8"));if(r.pid==process.argv[2]&&r.port)console.log(r.port+" "+r.token)}catch{}' "${runFile}" $P)
          [ -n "$R" ] && break; sleep 0.05
        done
        PORT=\${R%% *}; TOKEN=\${R#* }
      }
      api() { curl -s -H "authorization: Bearer $TOKEN" "http://127.0.0.1:$PORT$1"; }
      field() { "${node}" -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{try{console.log(JSON.parse(s)[process.argv[1]]??"")}catch{console.log("")}})' "$1"; }
      serve
      curl -s -o /dev/null -w '%{http_code}' -X POST -H 'content-type: application/json' --data @"${t('body.json')}" "http://127.0.0.1:$PORT/api/pulls" > "${t('unauth.txt')}"
      curl -s -w ' %{http_code}' -H "authorization: Bearer $TOKEN" -H 'content-type: application/json' --data @"${t('big.json')}" "http://127.0.0.1:$PORT/api/pulls" > "${t('big.txt')}"
      curl -s -H "authorization: Bearer $TOKEN" -H 'content-type: application/json' --data @"${t('body.json')}" "http://127.0.0.1:$PORT/api/pulls" > "${t('created.json')}"
      ID=$(field id < "${t('created.json')}")
      # Killed once three rows are retrieved (log lines: no request to slow the server down), then again once an
      # instance more is delivered after the restart.
      count() { grep -cE "event.{3}$1[^a-z_]" "${t('serve.log')}"; }
      for i in $(seq 1 3000); do [ $(count pull.row) -ge 3 ] && break; sleep 0.02; done
      kill -9 $P; wait $P 2>/dev/null
      count pull.row > "${t('rows-at-kill.txt')}"
      D0=$(count job.done)
      serve
      for i in $(seq 1 6000); do [ $(count job.done) -gt $D0 ] && break; sleep 0.02; done
      kill -9 $P; wait $P 2>/dev/null
      count job.done > "${t('done-at-kill.txt')}"
      serve
      for i in $(seq 1 1200); do
        S=$(api /api/pulls/$ID | field state)
        [ "$S" = done ] && break; sleep 0.1
      done
      api /api/pulls/$ID > "${t('final.json')}"
      api /api/risk/latest > "${t('risk-latest.json')}"
      api /metrics > "${t('metrics.txt')}"
      kill $P; wait $P 2>/dev/null
      kill $Q 2>/dev/null; wait 2>/dev/null; exit 0
    `;
  const r = isolated ? await run('unshare', ['-n', 'bash', '-c', script]) : await run('bash', ['-c', script]);
  const log = readFileSync(t('serve.log'), 'utf8');
  assert.equal(r.code, 0, `${r.stderr}\n${log.slice(-4000)}`);
  assert.equal(readFileSync(t('unauth.txt'), 'utf8'), '401', 'no bearer token: refused');
  assert.match(
    readFileSync(t('big.txt'), 'utf8'),
    /PULL_REQUEST_TOO_LARGE[\s\S]* 413$/,
    'a body over maxRequestBytes: 413',
  );

  const final = JSON.parse(readFileSync(t('final.json'), 'utf8')) as {
    id: string;
    state: string;
    rows: Record<string, number>;
    notFoundLines: number[];
    failedLines: unknown[];
    retrieved: number;
    delivered: number;
    quarantined: number;
    risk: { k: number; records: number; belowThreshold: boolean; uncaptured: number } | null;
  };
  assert.equal(final.state, 'done', `${JSON.stringify(final)}\n${log.slice(-4000)}`);
  const rowsAtKill = Number(readFileSync(t('rows-at-kill.txt'), 'utf8'));
  const doneAtKill = Number(readFileSync(t('done-at-kill.txt'), 'utf8'));
  process.stdout.write(
    `# killed after ${rowsAtKill} of 10 rows, then after ${doneAtKill} of ${expected.size} delivered\n`,
  );
  assert.ok(rowsAtKill >= 3 && rowsAtKill < 10, `killed while the pull retrieved (${rowsAtKill} rows)`);
  assert.ok(doneAtKill >= 1 && doneAtKill < expected.size, `killed while delivering (${doneAtKill} done)`);
  assert.match(log, /"event":"pull.resumed"/, 'the restarted gateway resumed the pull');
  assert.deepEqual(final.notFoundLines, [10, 11], 'the two rows that match nothing, by line');
  assert.deepEqual(final.failedLines, []);
  assert.equal(final.rows.retrieved, 8);
  assert.equal(final.retrieved, expected.size, 'one job per instance');
  assert.equal(final.delivered, expected.size);
  assert.equal(final.quarantined, 0);

  // The outputs: those of `veil deid`, each once.
  assertSameOutputs(dcmFiles(t('out')), expected, 'gateway pull');
  const jobs = new SqliteJobStore(t('veil.db'));
  const pulls = new SqlitePullStore(t('veil.db'));
  await jobs.init();
  await pulls.init();
  try {
    const all = (await jobs.listJobs({ limit: 10_000 })).filter((j) => j.source.pull === final.id);
    assert.equal(all.length, expected.size, 'one job per instance across the crash');
    assert.ok(all.every((j) => j.state === 'done' && j.source.transport === 'pull'));
    const deliveries = await jobs.listDeliveries({});
    assert.equal(deliveries.filter((d) => d.state === 'delivered').length, expected.size);
    const events = (await jobs.listAudit({ limit: 10_000 })).map((e) => e.event);
    for (const e of ['pull.created', 'pull.retrieved', 'pull.done']) assert.ok(events.includes(e), e);
    const created = (await jobs.listAudit({ limit: 10_000 })).find((e) => e.event === 'pull.created');
    assert.equal(created?.actor, 'api:alice');
    const instances = await pulls.listInstances(final.id);
    assert.equal(instances.length, expected.size);
    assert.ok(
      instances.every((i) => i.qi !== null),
      'quasi-identifiers stored for every delivered instance',
    );
  } finally {
    await pulls.close();
    await jobs.close();
  }
  // The identifiable list and originals are gone from the spool once the rows are done.
  assert.deepEqual(
    dcmFiles(t(`spool/pulls/${final.id}`)).filter((f) => !f.endsWith('.csv')),
    [],
    'no originals left',
  );

  // The batch's risk report: the same as `veil risk` on the delivered files, below k = 3 with these studies.
  const report = JSON.parse(
    readFileSync(t(`spool/reports/risk/pull-${final.id}/risk-report.json`), 'utf8'),
  ) as RiskReportJson;
  assert.match(readFileSync(t(`spool/reports/risk/pull-${final.id}/risk-report.html`), 'utf8'), /<svg/);
  const latest = JSON.parse(readFileSync(t('risk-latest.json'), 'utf8')) as RiskReportJson;
  assert.deepEqual(latest.result, report.result, 'GET /api/risk/latest serves it');
  const direct = buildRiskReport([t('out')], { k: 3, l: 2, unit: 'study' });
  assert.deepEqual(report.result.released, direct.result.released, 'the risk of what was delivered');
  assert.equal(report.result.records, 8);
  assert.ok(final.risk);
  assert.equal(final.risk.k, direct.result.released.k);
  assert.equal(final.risk.uncaptured, 0);
  assert.equal(final.risk.belowThreshold, direct.result.released.k < 3);
  if (final.risk.belowThreshold) assert.match(log, /"event":"risk.below_threshold"/);
  const metrics = readFileSync(t('metrics.txt'), 'utf8');
  assert.match(metrics, new RegExp(`veil_risk_batch_k\\{batch="pull-${final.id}"\\} ${final.risk.k}`));
  for (const s of studies) assert.ok(!log.includes(s.patientId) && !log.includes(s.uid), 'no identifiers logged');
});
