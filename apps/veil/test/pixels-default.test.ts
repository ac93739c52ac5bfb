/**
 * The burned-in text stage is ON by default (issue 12, item 3), end to end through `veil deid` and `veil verify`:
 *  - no configuration: every image scanned; the ultrasound sample's header-bar text is filled, the CT sample comes out
 *    pixel-identical; both state Burned In Annotation NO and CID 7050 113101 (the stage earned it on each);
 *  - explicitly on (pixels.text.enabled / cleanPixelData): the same claims;
 *  - explicitly off (pixels.text.enabled: false): pixels untouched, Burned In Annotation NO and 113101 never written;
 *    off while asking for Clean Pixel Data: every image held back (PIXELS_STAGE_UNAVAILABLE);
 *  - fail closed on real files Veil cannot decode or scan (../shared/data: a float Parametric Map, a JPEG 2000 file
 *    with a sequence delimiter inside its codestream): quarantined with the decoder's code, unless
 *    pixels.text.pass names the modality or SOP class: then written, unscanned and unclaimed;
 *  - `veil verify DIR`: the pixel half (pixel-text, VERIFY_PIXEL_TEXT) fails the output the stage was turned off for,
 *    passes the default output, reports undecodable images with their code (a warning when passed).
 *
 * Run: npm run test:unit -- apps/veil/test/pixels-default.test.ts   (~30 s on 2 cores: OCR on a few images)
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { inflateSync } from 'node:zlib';
import { type DicomFile, findElement, PIXEL_DATA, readString, scanFile } from '@veil/core';
import { openPixels, toRgb8 } from '@veil/pixels';
import { downscale } from '../src/pixels/png.ts';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const bin = join(repoRoot, 'apps/veil/bin/veil.mjs');
const sharedDir = process.env.VEIL_SHARED_DIR ?? resolve(repoRoot, '..', 'shared');
const tmp = mkdtempSync(join(tmpdir(), 'veil-pixels-default-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const US = join(repoRoot, 'samples/OBXXXX1A_rle.dcm');
const CT = join(repoRoot, 'samples/CT_small.dcm');
/** Parametric Map with Float Pixel Data, modality OT: no text detector reads float pixels. */
const FLOAT = join(sharedDir, 'data/dicom/pydicom-data/parametric_map_float.dcm');
const PARAMETRIC_MAP = '1.2.840.10008.5.1.4.1.1.30';
/** JPEG 2000 secondary capture, modality NM, whose codestream holds a sequence delimiter: decoding fails. */
const J2K_BAD = join(
  sharedDir,
  'data/dicom/dicognito/test_pixel_data_with_embedded_sequence_delimiter/JPEG2000-embedded-sequence-delimiter.dcm',
);
const SECONDARY_CAPTURE = '1.2.840.10008.5.1.4.1.1.7';

function veil(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const env = { ...process.env };
  delete env.NODE_TEST_CONTEXT;
  delete env.NODE_OPTIONS;
  return spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env, timeout: 240_000 });
}

const key = join(tmp, 'k.key');
let n = 0;

/** Copies `files` to a fresh input folder as a.dcm, b.dcm...; runs veil deid with `config` (none: no --config). */
function deid(files: string[], config?: Record<string, unknown>) {
  const run = `run-${n++}`;
  const input = join(tmp, run, 'in');
  mkdirSync(input, { recursive: true });
  const names = files.map((f, i) => {
    const name = `${String.fromCharCode(97 + i)}.dcm`;
    copyFileSync(f, join(input, name));
    return name;
  });
  const out = join(tmp, run, 'out');
  const args = ['deid', input, '--out', out, '--key-file', key, '--jobs', '1'];
  if (config) {
    const c = join(tmp, run, 'config.json');
    writeFileSync(c, JSON.stringify(config));
    args.push('--config', c);
  }
  const r = veil(args);
  const report = JSON.parse(readFileSync(join(out, 'veil-report.json'), 'utf8'));
  const output = (i: number): DicomFile | undefined => {
    const p = join(out, names[i]!);
    return existsSync(p) ? scanFile(new Uint8Array(readFileSync(p))) : undefined;
  };
  return { r, report, out, output, names };
}

/** An 8-bit RGB PNG as encodePng writes it (one IDAT stream, every row filter 0). */
function decodePng(buf: Uint8Array): { width: number; height: number; rgb: Uint8Array } {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let at = 8;
  let width = 0;
  let height = 0;
  const idat: Uint8Array[] = [];
  while (at < buf.length) {
    const length = dv.getUint32(at);
    const type = String.fromCharCode(...buf.subarray(at + 4, at + 8));
    const data = buf.subarray(at + 8, at + 8 + length);
    if (type === 'IHDR') {
      width = dv.getUint32(at + 8);
      height = dv.getUint32(at + 12);
      assert.deepEqual([data[8], data[9]], [8, 2], '8-bit RGB');
    } else if (type === 'IDAT') idat.push(data);
    at += 12 + length;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const rgb = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    assert.equal(raw[y * (width * 3 + 1)], 0, 'filter none');
    rgb.set(raw.subarray(y * (width * 3 + 1) + 1, (y + 1) * (width * 3 + 1)), y * width * 3);
  }
  return { width, height, rgb };
}

function text(file: DicomFile, tag: number): string | undefined {
  const el = findElement(file.dataset, tag);
  return el ? readString(el).trim() : undefined;
}

/** The CodeValues of De-identification Method Code Sequence (0012,0064). */
function methodCodes(file: DicomFile): string[] {
  const seq = findElement(file.dataset, 0x00120064);
  return (seq?.items ?? []).map((item) => {
    const v = findElement(item, 0x00080100);
    return v ? readString(v).trim() : '';
  });
}

function pixelBytes(file: DicomFile): Uint8Array {
  const px = findElement(file.dataset, PIXEL_DATA);
  assert.ok(px);
  return file.source.read(px.valueOffset, px.valueOffset + px.length);
}

function claimsClean(file: DicomFile): void {
  assert.equal(text(file, 0x00280301), 'NO');
  assert.ok(methodCodes(file).includes('113101'), methodCodes(file).join(' '));
}

/**
 * Veil claims nothing: no 113101, and Burned In Annotation is not written by Veil. An input that states a value of
 * its own keeps it (the source's statement, passed on unchanged: the parametric map here says NO); every other
 * output has no NO.
 */
function claimsNothing(file: DicomFile, input?: string): void {
  const own = input ? text(scanFile(new Uint8Array(readFileSync(input))), 0x00280301) : undefined;
  if (own === undefined) assert.notEqual(text(file, 0x00280301), 'NO');
  else assert.equal(text(file, 0x00280301), own);
  assert.ok(!methodCodes(file).includes('113101'), methodCodes(file).join(' '));
}

before(() => {
  const r = veil(['keygen', '--out', key]);
  assert.equal(r.status, 0, r.stderr);
});

describe('veil deid: the pixel text stage by default, explicitly on, explicitly off', () => {
  let byDefault: ReturnType<typeof deid>;
  let off: ReturnType<typeof deid>;

  before(() => {
    byDefault = deid([US, CT]);
    off = deid([US, CT], { pixels: { text: { enabled: false } } });
  });

  test('no configuration: every image scanned, text filled, claims earned and recorded', () => {
    const { r, report, output } = byDefault;
    assert.equal(r.status, 0, r.stderr.slice(-400));
    assert.deepEqual(
      { ...report.pixels, boxes: report.pixels.boxes > 0 },
      { stage: 'on', scanned: 2, redacted: 1, boxes: true, passedUnscanned: 0, claimedClean: 2 },
    );
    assert.match(r.stderr, /pixels: 2 image\(s\) scanned for burned-in text, 1 redacted/);
    const us = output(0)!;
    const ct = output(1)!;
    claimsClean(us);
    claimsClean(ct);
    // The ultrasound's pixels changed (its header bar carries text); the CT's did not.
    assert.notDeepEqual(pixelBytes(us), pixelBytes(scanFile(new Uint8Array(readFileSync(US)))));
    assert.deepEqual(pixelBytes(ct), pixelBytes(scanFile(new Uint8Array(readFileSync(CT)))));
    assert.match(readFileSync(join(byDefault.out, 'veil-report.html'), 'utf8'), /Burned-in text/);
  });

  test('the report shows each redacted image: a thumbnail of the output as written, boxes outlined', () => {
    const { report, out } = byDefault;
    assert.equal(report.previews.length, 1, 'one image was redacted');
    const [p] = report.previews as { file: string; png: string; boxes: number }[];
    assert.equal(p!.file, 'a.dcm');
    assert.equal(p!.boxes, report.pixels.boxes);
    assert.match(readFileSync(join(out, 'veil-report.html'), 'utf8'), new RegExp(`<img src="${p!.png}"`));
    const png = decodePng(readFileSync(join(out, p!.png)));
    assert.ok(Math.max(png.width, png.height) <= 320);
    // The thumbnail is the written output's first frame (outline pixels aside), and not the original's.
    const thumbOf = (path: string) => {
      const px = openPixels(scanFile(new Uint8Array(readFileSync(path))))!;
      return downscale(toRgb8(px.decodeFrame(0), px.module.palette), 320);
    };
    const fromOutput = thumbOf(join(out, 'a.dcm'));
    const fromInput = thumbOf(US);
    assert.deepEqual([fromOutput.width, fromOutput.height], [png.width, png.height]);
    let outlined = 0;
    let differsFromInput = 0;
    for (let i = 0; i < png.width * png.height; i++) {
      const at = [png.rgb[3 * i], png.rgb[3 * i + 1], png.rgb[3 * i + 2]];
      const isOutline = at[0] === 255 && (at[1] === 48 || at[1] === 196) && (at[2] === 48 || at[2] === 0);
      if (isOutline) {
        outlined++;
        continue;
      }
      for (let c = 0; c < 3; c++) assert.equal(at[c], fromOutput.rgb[3 * i + c], `pixel ${i} is the output's`);
      if ([0, 1, 2].some((c) => at[c] !== fromInput.rgb[3 * i + c])) differsFromInput++;
    }
    assert.ok(outlined > 0, 'boxes outlined');
    assert.ok(differsFromInput > 0, 'the redacted text is not shown');
    // Explicitly off: nothing redacted, no picture.
    assert.deepEqual(off.report.previews, []);
  });

  test('explicitly off: pixels untouched and nothing claimed', () => {
    const { r, report, output } = off;
    assert.equal(r.status, 0, r.stderr.slice(-400));
    assert.equal(report.pixels.stage, 'off');
    assert.equal(report.pixels.claimedClean, 0);
    assert.match(r.stderr, /burned-in text stage off \(pixels\.text\.enabled: false\)/);
    const us = output(0)!;
    claimsNothing(us);
    claimsNothing(output(1)!);
    assert.deepEqual(pixelBytes(us), pixelBytes(scanFile(new Uint8Array(readFileSync(US)))));
  });

  test('explicitly on (pixels.text.enabled, cleanPixelData): the same claims as the default', () => {
    const { r, report, output } = deid([CT], { pixels: { cleanPixelData: true, text: { enabled: true } } });
    assert.equal(r.status, 0, r.stderr.slice(-400));
    assert.equal(report.pixels.claimedClean, 1);
    claimsClean(output(0)!);
  });

  test('off while asking for Clean Pixel Data: held back, never claimed (PIXELS_STAGE_UNAVAILABLE)', () => {
    const { r, report, output } = deid([CT], { pixels: { cleanPixelData: true, text: { enabled: false } } });
    assert.equal(r.status, 1);
    assert.deepEqual(report.quarantinedByCode, { PIXELS_STAGE_UNAVAILABLE: 1 });
    assert.equal(output(0), undefined);
  });

  test('veil verify DIR: the pixel half fails the output made with the stage off, passes the default output', () => {
    const failed = veil(['verify', off.out, '--json']);
    assert.equal(failed.status, 1, failed.stderr.slice(-400));
    const lines = failed.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { file: string; detector: string; code: string; level: string; tagPath: string });
    const pixel = lines.filter((l) => l.detector === 'pixel-text');
    assert.deepEqual(
      pixel.map((l) => [l.file, l.code, l.level, l.tagPath]),
      [['a.dcm', 'VERIFY_PIXEL_TEXT', 'error', '(7FE0,0010)']],
    );
    const passed = veil(['verify', byDefault.out, '--json']);
    assert.equal(passed.stdout.includes('pixel-text'), false, passed.stdout.slice(0, 400));
    // The pixel half turned off by the configuration: no pixel finding at all.
    const cfg = join(tmp, 'verify-off.json');
    writeFileSync(cfg, JSON.stringify({ pixels: { text: { enabled: false } } }));
    const skipped = veil(['verify', off.out, '--json', '--config', cfg]);
    assert.equal(skipped.stdout.includes('pixel-text'), false);
  });
});

describe('fail closed: images Veil cannot decode, on real files', {
  skip: !existsSync(FLOAT) && 'no shared data',
}, () => {
  test('quarantined with the decoder code by default', () => {
    const { r, report, out } = deid([FLOAT, J2K_BAD]);
    assert.equal(r.status, 1);
    assert.deepEqual(
      report.quarantinedFiles.map((q: { file: string; code: string; tagPath: string }) => [q.file, q.code, q.tagPath]),
      [
        ['a.dcm', 'PIXELS_UNSUPPORTED_ENCODING', '(7FE0,0010)'],
        ['b.dcm', 'PIXELS_DECODE_FAILED', '(7FE0,0010)'],
      ],
    );
    assert.equal(report.counts.written, 0);
    // veil verify on the originals reports the same codes as errors.
    const v = veil(['verify', `${out}.quarantine`, '--json']);
    assert.equal(v.status, 1);
    const codes = v.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { file: string; detector: string; code: string; level: string })
      .filter((l) => l.detector === 'pixel-text')
      .map((l) => [l.file, l.code, l.level]);
    assert.deepEqual(codes, [
      ['a.dcm', 'PIXELS_UNSUPPORTED_ENCODING', 'error'],
      ['b.dcm', 'PIXELS_DECODE_FAILED', 'error'],
    ]);
  });

  test('passed by modality: only that modality goes out, unscanned and unclaimed', () => {
    const { report, output } = deid([FLOAT, J2K_BAD], { pixels: { text: { pass: { modalities: ['ot'] } } } });
    assert.equal(report.counts.written, 1);
    assert.deepEqual(report.quarantinedByCode, { PIXELS_DECODE_FAILED: 1 });
    assert.equal(report.pixels.passedUnscanned, 1);
    assert.equal(report.pixels.claimedClean, 0);
    claimsNothing(output(0)!, FLOAT);
  });

  test('passed by SOP class: both go out unclaimed; veil verify warns PIXELS_PASSED_UNSCANNED', () => {
    const config = { pixels: { text: { pass: { sopClasses: [SECONDARY_CAPTURE, PARAMETRIC_MAP] } } } };
    const { r, report, output, out } = deid([FLOAT, J2K_BAD], config);
    assert.equal(report.counts.written, 2, r.stderr.slice(-400));
    assert.equal(report.pixels.passedUnscanned, 2);
    assert.match(r.stderr, /2 passed unscanned by configuration/);
    claimsNothing(output(0)!, FLOAT);
    claimsNothing(output(1)!, J2K_BAD);
    const cfg = join(tmp, 'pass-sc.json');
    writeFileSync(cfg, JSON.stringify(config));
    const v = veil(['verify', out, '--json', '--config', cfg]);
    const pixel = v.stdout
      .trim()
      .split('\n')
      .filter((l) => l.includes('pixel-text'))
      .map((l) => JSON.parse(l) as { code: string; level: string });
    assert.deepEqual(
      pixel.map((l) => [l.code, l.level]),
      [
        ['PIXELS_PASSED_UNSCANNED', 'warn'],
        ['PIXELS_PASSED_UNSCANNED', 'warn'],
      ],
    );
  });

  test('a pass list that is not a list of strings is a configuration error (exit 3)', () => {
    const c = join(tmp, 'bad-pass.json');
    writeFileSync(c, JSON.stringify({ pixels: { text: { pass: { modalities: 'OT' } } } }));
    const r = veil(['deid', CT, '--out', join(tmp, 'bad-out'), '--key-file', key, '--config', c]);
    assert.equal(r.status, 3);
    assert.match(r.stderr, /pixels\.text\.pass\.modalities/);
  });
});
