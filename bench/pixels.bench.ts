/**
 * Burned-in text stage costs (not a test): `node --expose-gc --import tsx bench/pixels.bench.ts [--rounds N]`.
 * - frames/s per core of the full scan (decode, render, stroke pre-filter, PP-OCR detection, DB post-processing,
 *   line extension, redaction) at 512x512 (a head CT slice without text, a JohnSnowLabs CT slice with text) and
 *   1024x768 (an ultrasound screen with text), one thread, with the pre-filter (default) and without it (every
 *   whole frame through the network, as before the pre-filter), and with the pre-filter but without the closer
 *   looks (strips.ts, views.ts: `closerLooks: false`). Reported as CPU ms per frame (process.cpuUsage:
 *   the machine is shared, wall time measures the neighbours) and wall ms;
 * - the added cost per CT slice of `veil deid`: 20 CT slices with the stage on (default) and off, one job;
 * - peak RSS while every frame of the generated 200 MB multi-frame (bench/out/corpus/multi, from
 *   bench/generate-corpus.ts) is decoded through the windowed file source and rendered, detection on the first 3.
 * Writes bench/out/pixels.md.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { scanFile } from '@veil/core';
import {
  loadDcmjsCodecs,
  loadPpOcrDetector,
  openPixels,
  parsePixelTextConfig,
  scanAndRedact,
  toRgb8,
} from '@veil/pixels';
import { openFileSource } from '../apps/veil/src/io/file-source.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const DATA = resolve(root, '..', 'shared', 'data', 'dicom');
const rounds = Number(process.argv[process.argv.indexOf('--rounds') + 1]) || 5;
const lines: string[] = [];
const say = (s: string) => {
  lines.push(s);
  process.stdout.write(`${s}\n`);
};

const detector = await loadPpOcrDetector();
const unfiltered = await loadPpOcrDetector({ prefilter: false });
const codec = await loadDcmjsCodecs();
const config = parsePixelTextConfig(undefined);

async function framesPerSecond(path: string, label: string): Promise<void> {
  const file = scanFile(new Uint8Array(readFileSync(path)));
  const px = openPixels(file, codec);
  if (!px) throw new Error('no pixels');
  const row: string[] = [];
  const runs = [
    { detector: unfiltered, closerLooks: false },
    { detector, closerLooks: false },
    { detector, closerLooks: true },
  ];
  for (const r of runs) {
    const opts = { ...r, codec, config };
    await scanAndRedact(file, px, opts); // warm-up
    const cpu: number[] = [];
    const wall: number[] = [];
    for (let r = 0; r < rounds; r++) {
      const c = process.cpuUsage();
      const t = performance.now();
      await scanAndRedact(file, px, opts);
      wall.push(performance.now() - t);
      const u = process.cpuUsage(c);
      cpu.push((u.user + u.system) / 1000);
    }
    const med = (a: number[]) => a.sort((x, y) => x - y)[Math.floor(a.length / 2)] as number;
    row.push(`${med(cpu).toFixed(1)} ms (${(1000 / med(cpu)).toFixed(1)}/s, wall ${med(wall).toFixed(0)} ms)`);
  }
  say(`| ${label} | ${px.module.columns}x${px.module.rows} | ${row.join(' | ')} |`);
}

say(
  `Date ${new Date().toISOString()}; ${cpus()[0]?.model}; load ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}; rounds ${rounds}`,
);
say('');
say(
  '| Frame | Size | CPU per frame, network on every whole frame | pre-filter first, first look only | pre-filter first, closer looks (default) |',
);
say('| --- | --- | ---: | ---: | ---: |');
await framesPerSecond(join(DATA, 'dcm_qa_ct/Philips/S21570/S2010/I100'), 'head CT slice');
await framesPerSecond(
  join(
    DATA,
    'jsl-dicom-deid-dataset/3209648408_09-23-1999-CT_UROGRAM-31798_3_000000-PARENCHYMAL_PHASE_Sep1999-95798_1-100.dcm',
  ),
  'CT slice with burned-in text (JSL)',
);
await framesPerSecond(join(DATA, 'deid-data/ultrasounds/GREYSCALE_IMAGE.dcm'), 'ultrasound screen');

// Added cost per CT slice in veil deid.
const tmp = mkdtempSync(join(tmpdir(), 'veil-pixels-bench-'));
const ctDir = join(DATA, 'dcm_qa_ct/Philips/S21570/S2010');
const slices = readdirSync(ctDir)
  .filter((n) => n.startsWith('I'))
  .slice(0, 20);
const input = join(tmp, 'in');
mkdirSync(input);
for (const s of slices) writeFileSync(join(input, `${s}.dcm`), readFileSync(join(ctDir, s)));
const key = join(tmp, 'k');
writeFileSync(key, `base64:${randomBytes(32).toString('base64')}`);
const off = join(tmp, 'off.json');
writeFileSync(off, JSON.stringify({ pixels: { text: { enabled: false } } }));
const deid = (out: string, extra: string[]) => {
  const t = performance.now();
  const r = spawnSync(
    process.execPath,
    [join(root, 'apps/veil/bin/veil.mjs'), 'deid', input, '--out', out, '--key-file', key, '--jobs', '1', ...extra],
    { encoding: 'utf8' },
  );
  if (r.status !== 0 && r.status !== 1) throw new Error(`veil deid failed: ${r.stderr.slice(-300)}`);
  return performance.now() - t;
};
const tOff = deid(join(tmp, 'o1'), ['--config', off]);
const on = join(tmp, 'on.json');
writeFileSync(on, JSON.stringify({ pixels: { cleanPixelData: true } }));
const tOn = deid(join(tmp, 'o2'), ['--config', on]);
say('');
say(
  `veil deid, ${slices.length} CT slices, 1 job: stage off ${(tOff / 1000).toFixed(1)} s, on ${(tOn / 1000).toFixed(1)} s: +${((tOn - tOff) / slices.length).toFixed(0)} ms per slice`,
);

// Peak memory on the 200 MB multi-frame, frame by frame.
const multiDir = join(root, 'bench/out/corpus/multi');
const multi = existsSync(multiDir) ? readdirSync(multiDir).map((n) => join(multiDir, n))[0] : undefined;
if (multi) {
  // Windowed (not read whole), as veil deid opens a file this size.
  const src = openFileSource(multi, { wholeLimit: 16 << 20 });
  const file = scanFile(src);
  const px = openPixels(file, codec);
  if (px) {
    const before = process.memoryUsage().rss;
    let peak = before;
    const t = performance.now();
    for (let i = 0; i < px.frames; i++) {
      const frame = px.decodeFrame(i);
      const img = toRgb8(frame, px.module.palette);
      if (i < 3) await detector.detect(img);
      // With --expose-gc, collect now and then: the peak then shows what is live, not garbage waiting for V8.
      if (i % 25 === 0) (globalThis as { gc?: () => void }).gc?.();
      peak = Math.max(peak, process.memoryUsage().rss);
    }
    say(
      `multi-frame ${px.frames} frames ${px.module.columns}x${px.module.rows}: decoded and rendered in ${((performance.now() - t) / 1000).toFixed(1)} s, peak RSS ${(peak / 2 ** 20).toFixed(0)} MiB, ${((peak - before) / 2 ** 20).toFixed(0)} MiB above the loaded detector (file ${(src.length / 2 ** 20).toFixed(0)} MiB)`,
    );
  }
  src.close();
} else {
  say('multi-frame: run bench/generate-corpus.ts first (bench/out/corpus/multi)');
}
rmSync(tmp, { recursive: true, force: true });
mkdirSync(join(root, 'bench/out'), { recursive: true });
writeFileSync(join(root, 'bench/out/pixels.md'), `${lines.join('\n')}\n`);
