/**
 * `veil pixels scan`: boxes as JSON lines and preview PNGs of the redacted output, on the ultrasound sample (text
 * in its header bar) and the small CT sample (no text).
 *
 * Run: node --import tsx --test apps/veil/test/pixels-cli.test.ts   (~20 s: OCR on two images)
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const bin = join(repoRoot, 'apps/veil/bin/veil.mjs');
const tmp = mkdtempSync(join(tmpdir(), 'veil-pixels-cli-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

test('veil pixels scan prints boxes and writes previews of the output', () => {
  const env = { ...process.env };
  delete env.NODE_TEST_CONTEXT;
  delete env.NODE_OPTIONS;
  const us = join(repoRoot, 'samples/OBXXXX1A_rle.dcm');
  const ct = join(repoRoot, 'samples/CT_small.dcm');
  const r = spawnSync(process.execPath, [bin, 'pixels', 'scan', us, ct, '--out', tmp], {
    encoding: 'utf8',
    env,
    timeout: 300_000,
  });
  assert.equal(r.status, 0, r.stderr.slice(-400));
  const lines = r.stdout
    .trim()
    .split('\n')
    .map(
      (l) =>
        JSON.parse(l) as {
          file: string;
          frames: number;
          boxes: { frame: number; boxes: { x0: number; y0: number; x1: number; y1: number; source: string }[] }[];
        },
    );
  assert.equal(lines.length, 2);
  const [u, c] = lines as [(typeof lines)[0], (typeof lines)[0]];
  const usBoxes = u.boxes.flatMap((f) => f.boxes);
  // The header bar of this ultrasound (rows 0-60) carries its text lines.
  assert.ok(usBoxes.filter((b) => b.y0 < 60).length >= 4, `${usBoxes.length} boxes`);
  assert.ok(usBoxes.every((b) => b.x1 > b.x0 && b.y1 > b.y0 && b.x1 <= 800 && b.y1 <= 600));
  assert.equal(c.boxes.length, 0, 'no text on the CT sample');
  const pngs = readdirSync(tmp).filter((n) => n.endsWith('.png'));
  assert.equal(pngs.length, 2);
  for (const p of pngs) assert.deepEqual([...readFileSync(join(tmp, p)).subarray(0, 4)], [0x89, 0x50, 0x4e, 0x47]);
  assert.match(readFileSync(join(tmp, 'index.html'), 'utf8'), /Output pixels after redaction/);
  // No header value of either file in what the command printed (it prints boxes and codes only).
  assert.doesNotMatch(r.stdout + r.stderr, /CompressedSamples|1CT1|11-05-25-142825|OB\^/);
});
