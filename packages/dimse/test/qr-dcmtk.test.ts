/**
 * Pulling a study from a real PACS: dcmtk's dcmqrscp (Query/Retrieve SCP) holding three CT slices, queried and
 * retrieved by Veil's DimseClient with C-FIND, C-MOVE (to a Veil DimseServer) and C-GET (on the same association,
 * SCP role negotiated). dcmqrscp binds every interface, so it runs with the Veil side in a private network namespace
 * (`unshare -n`, loopback only) where available, else on free loopback ports.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { dataDir, datasetOf } from './support/corpus.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const SLICES = ['I10', 'I20', 'I30'].map((n) => path.join(dataDir, 'dicom/dcm_qa_ct/Philips/S21570/S2010', n));

function run(
  cmd: string,
  args: readonly string[],
  timeoutMs = 60_000,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: timeoutMs, maxBuffer: 8 * 1024 * 1024 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

/** n distinct ports free on the loopback right now (all held open at once, then released). */
async function freePorts(n: number): Promise<number[]> {
  const servers = Array.from({ length: n }, () => createServer());
  await Promise.all(servers.map((s) => new Promise<void>((r) => s.listen(0, '127.0.0.1', r))));
  const ports = servers.map((s) => (s.address() as { port: number }).port);
  await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
  return ports;
}

describe('Veil SCU against dcmqrscp', () => {
  it('finds, moves and gets a study, byte for byte', async () => {
    const tmp = mkdtempSync(path.join(tmpdir(), 'veil-qr-'));
    try {
      const storage = path.join(tmp, 'storage');
      mkdirSync(storage);
      const stored = SLICES.map((f, i) => {
        const to = path.join(storage, `slice${i}.dcm`);
        copyFileSync(f, to);
        return to;
      });
      const idx = await run('dcmqridx', [storage, ...stored]);
      assert.equal(idx.code, 0, idx.stderr);
      // VEIL_TEST_NO_NETNS=1 forces the fallback (free loopback ports).
      const isolated =
        process.env.VEIL_TEST_NO_NETNS !== '1' &&
        (await run('unshare', ['-n', 'sh', '-c', 'ip link set lo up'])).code === 0;
      // Free ports of the host loopback (any port is free in a private namespace; these are free in both).
      const [pacsPort, destPort] = (await freePorts(2)) as [number, number];
      const cfg = path.join(tmp, 'dcmqrscp.cfg');
      writeFileSync(
        cfg,
        [
          `NetworkTCPPort = ${pacsPort}`,
          'MaxPDUSize = 65536',
          'MaxAssociations = 4',
          'HostTable BEGIN',
          `veildest = (VEILDEST, 127.0.0.1, ${destPort})`,
          'HostTable END',
          'VendorTable BEGIN',
          'VendorTable END',
          'AETable BEGIN',
          `PACS ${storage} R (10, 1024mb) ANY`,
          'AETable END',
          '',
        ].join('\n'),
      );
      const script = `
        set -u
        ${isolated ? 'ip link set lo up' : ''}
        dcmqrscp -c "${cfg}" ${pacsPort} & Q=$!
        for i in $(seq 1 100); do echoscu -aec PACS 127.0.0.1 ${pacsPort} >/dev/null 2>&1 && break; sleep 0.05; done
        "${process.execPath}" --import tsx "${path.join(here, 'support', 'qr-scu.ts')}" ${pacsPort} ${destPort} "*"; rc=$?
        kill $Q; wait 2>/dev/null; exit $rc
      `;
      const r = isolated
        ? await run('unshare', ['-n', 'bash', '-c', script], 60_000)
        : await run('bash', ['-c', script], 60_000);
      assert.equal(r.code, 0, r.stderr);
      const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as {
        studies: string[];
        move: { status: number; completed: number; failed: number };
        get: { status: number; completed: number; failed: number };
        moved: Record<string, string>;
        got: Record<string, string>;
        progress: number[];
      };
      assert.equal(out.studies.length, 1);
      assert.deepEqual([out.move.status, out.move.completed, out.move.failed], [0, 3, 0]);
      assert.deepEqual([out.get.status, out.get.completed, out.get.failed], [0, 3, 0]);
      for (const f of SLICES) {
        const d = datasetOf(f);
        const want = `${d.transferSyntaxUid} ${createHash('sha256').update(d.bytes).digest('hex')}`;
        assert.equal(out.moved[d.sopInstanceUid], want, `C-MOVE ${path.basename(f)}`);
        assert.equal(out.got[d.sopInstanceUid], want, `C-GET ${path.basename(f)}`);
      }
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});
