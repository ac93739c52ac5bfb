/**
 * `veil pixels scan FILE...`: runs the burned-in text stage's detection and redaction on files without writing
 * DICOM, prints the boxes found (one JSON object per file) and, with --out, writes preview PNGs of the redacted
 * output (boxes outlined; never the original pixels) and an index.html of thumbnails for review.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { isVeilError, scanFile } from '@veil/core';
import type { Command } from 'commander';
import { CliError, EXIT_FAILURES, EXIT_OK, EXIT_USAGE, runCommand } from '../deid/cli-error.ts';
import { listInputs } from '../deid/inputs.ts';
import { encodePng, outline } from '../pixels/png.ts';

interface ScanFlags {
  out?: string;
  config?: string;
  maxFrames?: string;
}

const COLOURS: Record<string, [number, number, number]> = { detector: [255, 48, 48], region: [255, 196, 0] };

async function runScan(inputs: string[], flags: ScanFlags, stdout: NodeJS.WriteStream): Promise<number> {
  const [
    { openPixels, parsePixelTextConfig, scanAndRedact, toRgb8 },
    { pixelRecognizer, pixelTools },
    { readConfigFile },
  ] = await Promise.all([import('@veil/pixels'), import('../pixels/stages.ts'), import('../deid/config.ts')]);
  let textSection: unknown;
  if (flags.config) {
    const raw = readConfigFile(flags.config) as { pixels?: { text?: unknown } } | null;
    textSection = raw?.pixels?.text;
  }
  let config: ReturnType<typeof parsePixelTextConfig>;
  try {
    config = parsePixelTextConfig(textSection);
  } catch (e) {
    throw new CliError(3, `invalid setting ${isVeilError(e) ? (e.path ?? '') : ''}`);
  }
  const maxFrames = flags.maxFrames ? Number.parseInt(flags.maxFrames, 10) : 8;
  if (!Number.isInteger(maxFrames) || maxFrames < 0) throw new CliError(EXIT_USAGE, '--max-frames takes a number');
  const { detector, codec } = await pixelTools();
  const recognizer = config.redact === 'identifying' ? await pixelRecognizer() : undefined;
  const files = listInputs(inputs);
  if (flags.out) mkdirSync(flags.out, { recursive: true });
  const thumbs: string[] = [];
  let failures = 0;
  let n = 0;
  for (const f of files) {
    n++;
    let file: ReturnType<typeof scanFile>;
    try {
      file = scanFile(new Uint8Array(readFileSync(f.path)));
    } catch (e) {
      if (isVeilError(e) && e.code === 'DICOM_NOT_DICOM') continue;
      failures++;
      stdout.write(`${JSON.stringify({ file: f.rel, code: isVeilError(e) ? e.code : 'SCAN_FAILED' })}\n`);
      continue;
    }
    try {
      const px = openPixels(file, codec);
      if (!px) {
        stdout.write(`${JSON.stringify({ file: f.rel, frames: 0, boxes: [] })}\n`);
        continue;
      }
      const result = await scanAndRedact(file, px, { detector, codec, config, recognizer });
      const boxes = result.boxes.map((fb) => ({
        frame: fb.frame,
        boxes: fb.boxes.map((b) => ({
          x0: b.x0,
          y0: b.y0,
          x1: b.x1,
          y1: b.y1,
          source: b.source,
          score: +b.score.toFixed(3),
        })),
      }));
      stdout.write(`${JSON.stringify({ file: f.rel, frames: px.frames, redactedPixels: result.pixels, boxes })}\n`);
      if (flags.out) {
        for (let i = 0; i < Math.min(px.frames, maxFrames); i++) {
          const frame = result.changed.get(i) ?? px.decodeFrame(i);
          const img = toRgb8(frame, px.module.palette);
          for (const b of result.boxes.find((x) => x.frame === i)?.boxes ?? []) {
            outline(img, b, COLOURS[b.source.startsWith('region') ? 'region' : 'detector'] ?? [255, 0, 0]);
          }
          const name = `${String(n).padStart(4, '0')}-${basename(f.rel).replace(/[^A-Za-z0-9._-]/g, '_')}-f${i}.png`;
          writeFileSync(join(flags.out, name), encodePng(img.width, img.height, img.rgb));
          thumbs.push(name);
        }
      }
    } catch (e) {
      failures++;
      stdout.write(`${JSON.stringify({ file: f.rel, code: isVeilError(e) ? e.code : 'PIXELS_FAILED' })}\n`);
    }
  }
  if (flags.out) {
    const items = thumbs.map((t) => `<figure><img src="${t}" width="256"><figcaption>${t}</figcaption></figure>`);
    writeFileSync(
      join(flags.out, 'index.html'),
      `<!doctype html><meta charset="utf-8"><title>veil pixels scan</title><style>figure{display:inline-block;margin:4px}img{image-rendering:pixelated}</style><p>Output pixels after redaction; red: detected text, yellow: region library.</p>${items.join('\n')}\n`,
    );
  }
  return failures > 0 ? EXIT_FAILURES : EXIT_OK;
}

export function register(program: Command): void {
  const pixels = program.command('pixels').description('Burned-in text in the pixels: scan and preview');
  pixels
    .command('scan')
    .description('Detect burned-in text in DICOM images; print the boxes (JSON lines) and write previews of the output')
    .argument('<input...>', 'DICOM files and folders')
    .option('-o, --out <dir>', 'write preview PNGs of the redacted output (boxes outlined) and index.html there')
    .option('-c, --config <file>', 'a deid configuration whose pixels.text section applies (margin, regions...)')
    .option('--max-frames <n>', 'previews per file (default 8)')
    .action(async (inputs: string[], flags: ScanFlags) => {
      await runCommand('pixels scan', () => runScan(inputs, flags, process.stdout));
    });
}
