/**
 * Peak memory of `veil deid` on a ~200 MB multi-frame with burned-in text in several frames (not a test):
 *   node --import tsx bench/pixels-memory.bench.ts [--frames 400] [--before <git rev>]
 *
 * The input is generated here: the header and the one frame of a JohnSnowLabs CT slice whose pixels carry burned-in
 * text (../shared/data, with its ground-truth boxes), made a multi-frame of `--frames` 512x512 16-bit frames
 * (Number of Frames added): that slice's frame at 5 places, a phantom (a disc with noise, no text) everywhere else.
 * `veil deid` runs on it with the default configuration (burned-in text stage and pixel verification on), one job,
 * under /usr/bin/time: the peak resident set of the process (worker threads included) is reported, with the number
 * of frames the text stage redacted and a check that the frames without text come out byte-identical.
 *
 * `--before REV` runs the same on another commit (a git worktree in a temporary folder, sharing this checkout's
 * node_modules except the workspace packages) in the same run, for a before -> after on the same machine.
 * Writes bench/out/pixels-memory.md.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findElement, PIXEL_DATA, rewrite, scanFile } from '@veil/core';
import { openFileSource } from '../apps/veil/src/io/file-source.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const DATA = resolve(root, '..', 'shared', 'data', 'dicom');
const JSL = join(
  DATA,
  'jsl-dicom-deid-dataset/3209648408_09-23-1999-CT_UROGRAM-31798_3_000000-PARENCHYMAL_PHASE_Sep1999-95798_1-100.dcm',
);
const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const FRAMES = Number(arg('--frames')) || 400;
const BEFORE = arg('--before');
const TEXT_FRAMES = [3, Math.floor(FRAMES / 4), Math.floor(FRAMES / 2), Math.floor((3 * FRAMES) / 4), FRAMES - 2];

const lines: string[] = [];
const say = (s: string) => {
  lines.push(s);
  process.stdout.write(`${s}\n`);
};

/** A 512x512 disc with noise, 16-bit little endian, signed values well inside the CT's range; no text. */
function phantom(rows: number, cols: number): Uint8Array {
  const out = new Uint8Array(rows * cols * 2);
  const dv = new DataView(out.buffer);
  let s = 12345;
  const rand = () => {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    return s / 0x7fffffff;
  };
  const r2 = (rows * 0.42) ** 2;
  for (let y = 0; y < rows; y++) {
    for (let x = 0; x < cols; x++) {
      const d = (x - cols / 2) ** 2 + (y - rows / 2) ** 2;
      dv.setInt16((y * cols + x) * 2, d < r2 ? 1000 + Math.floor(rand() * 80) : -1000 + Math.floor(rand() * 20), true);
    }
  }
  return out;
}

/** Writes the multi-frame: the JSL header with Number of Frames, then the frames, streamed (never all in memory). */
function generate(path: string): { frameBytes: number; pixelOffset: number } {
  const file = scanFile(new Uint8Array(readFileSync(JSL)));
  const px = findElement(file.dataset, PIXEL_DATA);
  if (!px || px.length !== 512 * 512 * 2) throw new Error('expected a 512x512 16-bit slice');
  const text = file.source.read(px.valueOffset, px.valueOffset + px.length).slice();
  const nof = new TextEncoder().encode(String(FRAMES));
  const withFrames = scanFile(
    rewrite(file, [{ op: 'insert', container: file.dataset, tag: 0x00280008, vr: 'IS', value: nof }]),
  );
  const el = findElement(withFrames.dataset, PIXEL_DATA);
  if (!el) throw new Error('no pixel data');
  // Everything before Pixel Data, then its header with the new length (Explicit VR Little Endian, OW).
  const head = withFrames.source.read(0, el.valueOffset).slice();
  new DataView(head.buffer).setUint32(el.valueOffset - 4 - 0, text.length * FRAMES, true);
  const plain = phantom(512, 512);
  const fd = openSync(path, 'w');
  try {
    writeSync(fd, head);
    for (let f = 0; f < FRAMES; f++) {
      const frame = TEXT_FRAMES.includes(f) ? text : plain;
      let o = 0;
      while (o < frame.length) o += writeSync(fd, frame, o, frame.length - o);
    }
  } finally {
    closeSync(fd);
  }
  return { frameBytes: text.length, pixelOffset: head.length };
}

/** A checkout of `rev` in a temporary folder that resolves its workspace packages to its own sources. */
function worktree(rev: string, dir: string): string {
  const r = spawnSync('git', ['-C', root, 'worktree', 'add', '--detach', dir, rev], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`git worktree add failed: ${r.stderr}`);
  const nm = join(dir, 'node_modules');
  mkdirSync(join(nm, '@veil'), { recursive: true });
  for (const name of readdirSync(join(root, 'node_modules'))) {
    if (name === '@veil') continue;
    symlinkSync(join(root, 'node_modules', name), join(nm, name));
  }
  for (const name of readdirSync(join(root, 'node_modules/@veil'))) {
    const target = name === 'app' ? join(dir, 'apps/veil') : join(dir, 'packages', name);
    if (existsSync(target)) symlinkSync(target, join(nm, '@veil', name));
  }
  return dir;
}

interface Run {
  readonly peakMiB: number;
  readonly seconds: number;
  readonly redactedFrames: number;
  readonly identical: number;
  readonly written: boolean;
}

function deid(tree: string, input: string, out: string, key: string, frameBytes: number, pixelOffset: number): Run {
  const t = performance.now();
  const r = spawnSync(
    '/usr/bin/time',
    [
      '-f',
      'MAXRSS_KB %M',
      process.execPath,
      join(tree, 'apps/veil/bin/veil.mjs'),
      'deid',
      input,
      '--out',
      out,
      '--key-file',
      key,
      '--jobs',
      '1',
    ],
    { encoding: 'utf8', env: { ...process.env, VEIL_FROM_SOURCE: '1' }, cwd: tree },
  );
  const seconds = (performance.now() - t) / 1000;
  const kb = Number(/MAXRSS_KB (\d+)/.exec(r.stderr)?.[1]);
  if (!kb) throw new Error(`veil deid failed: ${r.stderr.slice(-500)}`);
  const written = existsSync(out) ? findDcm(out) : undefined;
  let redactedFrames = 0;
  let identical = 0;
  if (written) {
    // Compare each output frame with the input's (the Pixel Data value is the last element in both).
    const a = openFileSource(join(input, 'mf.dcm'), { wholeLimit: 0 });
    const b = openFileSource(written, { wholeLimit: 0 });
    const outFile = scanFile(b);
    const el = findElement(outFile.dataset, PIXEL_DATA);
    for (let f = 0; el && f < FRAMES; f++) {
      const x = a.read(pixelOffset + f * frameBytes, pixelOffset + (f + 1) * frameBytes);
      const y = b.read(el.valueOffset + f * frameBytes, el.valueOffset + (f + 1) * frameBytes);
      if (Buffer.compare(Buffer.from(x), Buffer.from(y)) === 0) identical++;
      else redactedFrames++;
    }
    a.close();
    b.close();
  }
  return { peakMiB: kb / 1024, seconds, redactedFrames, identical, written: written !== undefined };
}

function findDcm(dir: string): string | undefined {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) {
      const f = findDcm(p);
      if (f) return f;
    } else if (e.name.endsWith('.dcm')) return p;
  }
  return undefined;
}

const tmp = mkdtempSync(join(tmpdir(), 'veil-pixels-mem-'));
try {
  const input = join(tmp, 'in');
  mkdirSync(input);
  const g = generate(join(input, 'mf.dcm'));
  const key = join(tmp, 'k');
  writeFileSync(key, `base64:${randomBytes(32).toString('base64')}`);
  const mib = (g.pixelOffset + g.frameBytes * FRAMES) / 2 ** 20;
  say(
    `Date ${new Date().toISOString()}; ${cpus()[0]?.model}; load ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  say('');
  say(
    `Input: ${FRAMES} frames 512x512 16-bit native (${mib.toFixed(0)} MiB), burned-in text (a JohnSnowLabs CT slice) in frames ${TEXT_FRAMES.join(', ')}; veil deid, default configuration, --jobs 1.`,
  );
  say('');
  say('| Build | Peak RSS | Wall | Frames redacted | Frames byte-identical |');
  say('| --- | ---: | ---: | ---: | ---: |');
  const row = (label: string, r: Run) =>
    say(
      `| ${label} | ${r.peakMiB.toFixed(0)} MiB | ${r.seconds.toFixed(1)} s | ${r.written ? r.redactedFrames : 'not written'} | ${r.written ? r.identical : '-'} |`,
    );
  if (BEFORE) {
    const tree = worktree(BEFORE, join(tmp, 'before'));
    try {
      row(`before (${BEFORE})`, deid(tree, input, join(tmp, 'out-before'), key, g.frameBytes, g.pixelOffset));
    } finally {
      spawnSync('git', ['-C', root, 'worktree', 'remove', '--force', tree]);
    }
  }
  row('this checkout', deid(root, input, join(tmp, 'out'), key, g.frameBytes, g.pixelOffset));
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
mkdirSync(join(root, 'bench/out'), { recursive: true });
writeFileSync(join(root, 'bench/out/pixels-memory.md'), `${lines.join('\n')}\n`);
