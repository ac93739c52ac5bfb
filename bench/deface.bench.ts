/**
 * The defacing benchmark (`npx tsx bench/deface.bench.ts`; not a test): seconds per 100 slices of 512x512 CT and per
 * 160-slice MR, and peak memory, for `veil deface`'s series pass (read, assemble, detect, remove, rewrite, verify on
 * the re-read bytes, pictures) and for the pure stages alone.
 *
 * Inputs: the 160-slice UIH head MR from ../shared/data, and a 100-slice 512x512 head CT made from the Philips head
 * phantom's 28 slices (5 mm) re-positioned at 1.35 mm spacing (each output slice a copy of the nearest original, with
 * its own Image Position, Instance Number and SOP Instance UID, written by @veil/core's rewriter into
 * bench/out/deface-ct100). Each part runs in its own process (`--part ct|mr`), so that its peak RSS is its own;
 * BENCH_ROUNDS (default 3) rounds, median time. Writes bench/out/deface.md.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findElement, rewrite, scanFile } from '@veil/core';
import {
  assembleVolume,
  defaceVolume,
  detectFace,
  frontDepth,
  readInstance,
  readNativeFrames,
  type SeriesMember,
} from '@veil/pixels/deface';
import { runDeface } from '../apps/veil/src/deface/run.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const data = join(process.env.VEIL_SHARED_DIR ?? resolve(root, '..', 'shared'), 'data', 'dicom');
const MR = join(data, 'dcm_qa_uih', 'DTI_132225', 't1_gre_fsp_3d_sag__132750');
const PHILIPS = join(data, 'dcm_qa_ct', 'Philips', 'S21570', 'S2010');
const OUT = join(root, 'bench', 'out');
const CT100 = join(OUT, 'deface-ct100');

function ascii(s: string): Uint8Array {
  return Uint8Array.from(s, (c) => c.charCodeAt(0));
}

/** 100 slices at 1.35 mm from the 28 Philips slices at 5 mm (nearest original per position). */
function makeCt100(): void {
  if (existsSync(CT100) && readdirSync(CT100).length === 100) return;
  mkdirSync(CT100, { recursive: true });
  const src = readdirSync(PHILIPS)
    .filter((f) => f !== 'DIRFILE')
    .map((f) => scanFile(new Uint8Array(readFileSync(join(PHILIPS, f)))))
    .map((file) => ({ file, z: readInstance(file).frames[0]!.position[2] }))
    .sort((a, b) => a.z - b.z);
  const z0 = src[0]!.z;
  const z1 = src.at(-1)!.z;
  for (let k = 0; k < 100; k++) {
    const z = z0 + ((z1 - z0) * k) / 99;
    const near = src.reduce((a, b) => (Math.abs(b.z - z) < Math.abs(a.z - z) ? b : a));
    const ds = near.file.dataset;
    const ipp = readInstance(near.file).frames[0]!.position;
    const edit = (tag: number, value: string) => ({
      op: 'replace' as const,
      element: findElement(ds, tag)!,
      value: ascii(value),
    });
    const sop = findElement(ds, 0x00080018)!;
    const sopValue = new TextDecoder().decode(sop.parent.source.read(sop.valueOffset, sop.valueOffset + sop.length));
    const out = rewrite(near.file, [
      edit(0x00080018, `${sopValue.replace(/\0/g, '').slice(0, 50)}.${k + 1}`),
      edit(0x00200013, String(k + 1)),
      edit(0x00200032, `${ipp[0]}\\${ipp[1]}\\${z.toFixed(3)}`),
    ]);
    writeFileSync(join(CT100, `CT${String(k + 1).padStart(3, '0')}.dcm`), out);
  }
}

function load(dir: string): SeriesMember<string>[] {
  return readdirSync(dir)
    .filter((f) => f !== 'DIRFILE')
    .map((f) => {
      const file = scanFile(new Uint8Array(readFileSync(join(dir, f))));
      const info = readInstance(file);
      return { key: f, info, pixels: readNativeFrames(file, info) };
    });
}

async function part(name: 'ct' | 'mr'): Promise<void> {
  const dir = name === 'ct' ? CT100 : MR;
  const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
  const whole: number[] = [];
  const cpu: number[] = [];
  const stages: Record<string, number[]> = { load: [], detect: [], remove: [], render: [] };
  let outcome = '';
  for (let r = 0; r < rounds; r++) {
    const out = join(OUT, `deface-${name}-out`);
    rmSync(out, { recursive: true, force: true });
    rmSync(`${out}.quarantine`, { recursive: true, force: true });
    let t = performance.now();
    const c0 = process.cpuUsage();
    const { report } = await runDeface({ inputs: [dir], out });
    const c1 = process.cpuUsage(c0);
    whole.push((performance.now() - t) / 1000);
    cpu.push((c1.user + c1.system) / 1e6);
    outcome = report.series
      .map((s) => `${s.outcome}${s.noseMovedBackMm !== undefined ? ` (${s.noseMovedBackMm.toFixed(0)} mm)` : ''}`)
      .join(', ');
    t = performance.now();
    const v = assembleVolume(load(dir));
    stages.load!.push((performance.now() - t) / 1000);
    t = performance.now();
    const d = detectFace(v);
    stages.detect!.push((performance.now() - t) / 1000);
    t = performance.now();
    if (d.plane) defaceVolume(v, d.plane, d.background);
    stages.remove!.push((performance.now() - t) / 1000);
    t = performance.now();
    frontDepth(v, d.surfaceThreshold, 1);
    stages.render!.push((performance.now() - t) / 1000);
  }
  const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]!;
  const result = {
    part: name,
    slices: readdirSync(dir).filter((f) => f !== 'DIRFILE').length,
    outcome,
    seconds: median(whole),
    cpuSeconds: median(cpu),
    stages: Object.fromEntries(Object.entries(stages).map(([k, v]) => [k, median(v)])),
    peakRssMiB: process.resourceUsage().maxRSS / 1024,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

const arg = process.argv.indexOf('--part');
if (arg >= 0) {
  await part(process.argv[arg + 1] as 'ct' | 'mr');
} else {
  makeCt100();
  const rows: string[] = [];
  for (const p of ['ct', 'mr'] as const) {
    const r = spawnSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--part', p], {
      encoding: 'utf8',
      cwd: root,
    });
    if (r.status !== 0) throw new Error(`part ${p} failed: ${r.stderr}`);
    const x = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as {
      part: string;
      slices: number;
      outcome: string;
      seconds: number;
      cpuSeconds: number;
      stages: Record<string, number>;
      peakRssMiB: number;
    };
    const per =
      x.part === 'ct'
        ? `${((x.seconds * 100) / x.slices).toFixed(2)} s wall, ${((x.cpuSeconds * 100) / x.slices).toFixed(2)} s CPU / 100 slices`
        : `${x.seconds.toFixed(2)} s wall, ${x.cpuSeconds.toFixed(2)} s CPU / series`;
    const st = Object.entries(x.stages)
      .map(([k, v]) => `${k} ${v.toFixed(2)} s`)
      .join(', ');
    rows.push(
      `| ${x.part === 'ct' ? 'CT 512x512' : 'MR 512x460'} | ${x.slices} | ${x.outcome} | ${x.seconds.toFixed(2)} | ${per} | ${st} | ${x.peakRssMiB.toFixed(0)} |`,
    );
  }
  const table = [
    '| Series | Slices | Outcome (nose surface moved back) | veil deface, s | Rate | Pure stages (median) | Peak RSS, MiB |',
    '| ------ | -----: | --------------------------------- | -------------: | ---- | -------------------- | ------------: |',
    ...rows,
  ].join('\n');
  const load = (await import('node:os')).loadavg()[0]!.toFixed(1);
  process.stdout.write(
    `${table}\nLoad average at the end: ${load} on ${(await import('node:os')).availableParallelism()} CPUs.\n`,
  );
  mkdirSync(OUT, { recursive: true });
  writeFileSync(join(OUT, 'deface.md'), `${table}\n\nLoad average at the end: ${load}.\n`);
}
