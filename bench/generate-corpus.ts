/**
 * The benchmark corpus, generated once and cached under bench/out/corpus (git-ignored):
 *   ct/     300 slices of a 512x512 16-bit CT series (~100 header elements with nested sequences and private tags,
 *           explicit VR little endian, ~526 KB each)
 *   small/  2,000 small files: 1,000 64x64 8-bit images and 1,000 SR-like documents (~2-8 KB each)
 *   multi/  one ~200 MB enhanced multi-frame (400 frames 512x512 16-bit, native pixel data of defined length, with
 *           per-frame functional groups, so its header (~90 KB) is larger than the scanner's 64 KB window)
 * Every element is encoded with the core's encodeElement / encodeItems. Content is deterministic and synthetic.
 *
 * Usage: `npx tsx bench/generate-corpus.ts` (or through bench/core.bench.ts, which calls ensureCorpus()).
 */
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { concat, EXPLICIT_LE, encodeElement, encodeItems, PIXEL_DATA, type Syntax } from '@veil/core';

export const BENCH_DIR = dirname(fileURLToPath(import.meta.url));
export const OUT_DIR = join(BENCH_DIR, 'out');
export const CORPUS_DIR = join(OUT_DIR, 'corpus');
/** Bump when the generated content changes, so a stale cache is rebuilt. */
const CORPUS_VERSION = 1;

export const PARTS = ['ct', 'small', 'multi'] as const;
export type Part = (typeof PARTS)[number];

export const PART_LABELS: Record<Part, string> = {
  ct: 'CT series (300 x 526 KB)',
  small: 'Small files (2,000 x 2-8 KB)',
  multi: 'Multi-frame (1 x 200 MB)',
};

const CT_SLICES = 300;
const SMALL_IMAGES = 1000;
const SMALL_SR = 1000;
const MF_FRAMES = 400;
const SYNTAX: Syntax = EXPLICIT_LE;
const EXPLICIT_VR_LE_UID = '1.2.840.10008.1.2.1';
const CT_IMAGE_STORAGE = '1.2.840.10008.5.1.4.1.1.2';
const ENHANCED_CT_STORAGE = '1.2.840.10008.5.1.4.1.1.2.1';
const SECONDARY_CAPTURE = '1.2.840.10008.5.1.4.1.1.7';
const BASIC_TEXT_SR = '1.2.840.10008.5.1.4.1.1.88.11';
const IMPL_CLASS_UID = '2.25.300472108955713420113871153734932245011';

// ---------------------------------------------------------------------------------------------------------------
// Element builders

/** An element to encode: a value, a list of items (defined-length sequence) or an undefined-length sequence. */
type El =
  | { tag: number; vr: string; value: Uint8Array }
  | { tag: number; vr: 'SQ'; items: El[][]; undefinedLength?: boolean };

const latin1 = (s: string): Uint8Array => {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i) & 0xff;
  return out;
};

function str(tag: number, vr: string, s: string): El {
  return { tag, vr, value: latin1(s) };
}

function us(tag: number, ...values: number[]): El {
  const b = new Uint8Array(values.length * 2);
  const dv = new DataView(b.buffer);
  for (const [i, v] of values.entries()) dv.setUint16(i * 2, v, true);
  return { tag, vr: 'US', value: b };
}

function ul(tag: number, ...values: number[]): El {
  const b = new Uint8Array(values.length * 4);
  const dv = new DataView(b.buffer);
  for (const [i, v] of values.entries()) dv.setUint32(i * 4, v, true);
  return { tag, vr: 'UL', value: b };
}

function fd(tag: number, ...values: number[]): El {
  const b = new Uint8Array(values.length * 8);
  const dv = new DataView(b.buffer);
  for (const [i, v] of values.entries()) dv.setFloat64(i * 8, v, true);
  return { tag, vr: 'FD', value: b };
}

function sq(tag: number, items: El[][], undefinedLength = false): El {
  return { tag, vr: 'SQ', items, undefinedLength };
}

function u32le(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n >>> 0, true);
  return b;
}

/** Hand-built delimiters for undefined-length sequences (encodeElement only writes defined lengths). */
const ITEM_UNDEF = concat([new Uint8Array([0xfe, 0xff, 0x00, 0xe0]), u32le(0xffffffff)]);
const ITEM_DELIM = new Uint8Array([0xfe, 0xff, 0x0d, 0xe0, 0, 0, 0, 0]);
const SEQ_DELIM = new Uint8Array([0xfe, 0xff, 0xdd, 0xe0, 0, 0, 0, 0]);

function encodeList(elements: readonly El[]): Uint8Array[] {
  const sorted = [...elements].sort((a, b) => a.tag - b.tag);
  return sorted.map(encodeOne);
}

function encodeOne(el: El): Uint8Array {
  if (!('items' in el)) return encodeElement(el.tag, el.vr, el.value, SYNTAX);
  if (!el.undefinedLength) return encodeElement(el.tag, 'SQ', encodeItems(el.items.map(encodeList), SYNTAX), SYNTAX);
  const header = encodeElement(el.tag, 'SQ', new Uint8Array(0), SYNTAX);
  header.set(u32le(0xffffffff), 8);
  const parts: Uint8Array[] = [header];
  for (const item of el.items) parts.push(ITEM_UNDEF, ...encodeList(item), ITEM_DELIM);
  parts.push(SEQ_DELIM);
  return concat(parts);
}

/** Preamble, "DICM" and the file meta group (with its group length). */
function fileMeta(sopClass: string, sopInstance: string): Uint8Array {
  const rest = concat(
    encodeList([
      { tag: 0x00020001, vr: 'OB', value: new Uint8Array([0, 1]) },
      str(0x00020002, 'UI', sopClass),
      str(0x00020003, 'UI', sopInstance),
      str(0x00020010, 'UI', EXPLICIT_VR_LE_UID),
      str(0x00020012, 'UI', IMPL_CLASS_UID),
      str(0x00020013, 'SH', 'VEIL_BENCH_1'),
      str(0x00020016, 'AE', 'BENCHSCU'),
    ]),
  );
  const preamble = new Uint8Array(132);
  preamble.set(latin1('DICM'), 128);
  return concat([preamble, encodeOne(ul(0x00020000, rest.length)), rest]);
}

/** The dataset's elements (pixel data excluded), encoded and concatenated. */
function encodeDataset(elements: readonly El[]): Uint8Array {
  return concat(encodeList(elements));
}

/** Pixel data header (OW, defined length) without its value: the value is written separately. */
function pixelDataHeader(length: number): Uint8Array {
  const h = encodeElement(PIXEL_DATA, 'OW', new Uint8Array(0), SYNTAX);
  h.set(u32le(length), 8);
  return h;
}

// ---------------------------------------------------------------------------------------------------------------
// Deterministic content

/** Small PRNG (mulberry32) so the corpus is the same on every machine. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function uid(...parts: number[]): string {
  return `2.25.${parts.map((p) => String(p)).join('')}${'1'.repeat(3)}`.slice(0, 64);
}

const STUDY_UID = uid(1840934, 2023112, 4559012);
const CT_SERIES_UID = uid(1840934, 2023112, 4559013);
const FOR_UID = uid(1840934, 2023112, 4559099);

function patientModule(name: string, id: string): El[] {
  return [
    str(0x00100010, 'PN', name),
    str(0x00100020, 'LO', id),
    str(0x00100021, 'LO', 'HOSP_A'),
    str(0x00100030, 'DA', '19560314'),
    str(0x00100040, 'CS', 'F'),
    str(0x00101010, 'AS', '067Y'),
    str(0x00101020, 'DS', '1.62'),
    str(0x00101030, 'DS', '58.5'),
    str(0x00104000, 'LT', 'No known allergies. Referred from outpatient clinic.'),
  ];
}

function studyModule(): El[] {
  return [
    str(0x00080005, 'CS', 'ISO_IR 100'),
    str(0x00080020, 'DA', '20231124'),
    str(0x00080030, 'TM', '101530.000000'),
    str(0x00080050, 'SH', 'ACC20231124017'),
    str(0x00080080, 'LO', 'General Hospital of Somewhere'),
    str(0x00080081, 'ST', '1 Hospital Road, Somewhere, SW1 1AA'),
    str(0x00080090, 'PN', 'Referrer^Robert^^Dr'),
    str(0x00081030, 'LO', 'CT CHEST ABDOMEN PELVIS WITH CONTRAST'),
    sq(0x00081032, [
      [str(0x00080100, 'SH', 'CTCAP'), str(0x00080102, 'SH', 'LOCAL'), str(0x00080104, 'LO', 'CT Chest Abdo Pelvis')],
    ]),
    sq(0x00081110, [[str(0x00081150, 'UI', '1.2.840.10008.3.1.2.3.1'), str(0x00081155, 'UI', uid(77, 1))]]),
    str(0x0020000d, 'UI', STUDY_UID),
    str(0x00200010, 'SH', '4711'),
    sq(
      0x00400275,
      [
        [
          str(0x00321060, 'LO', 'CT CAP'),
          str(0x00400007, 'LO', 'CT Chest Abdomen Pelvis'),
          str(0x00400009, 'SH', 'SPS-0017'),
          str(0x00401001, 'SH', 'RP-0017'),
          sq(0x00400008, [[str(0x00080100, 'SH', 'P5-08000'), str(0x00080102, 'SH', 'SRT')]]),
        ],
      ],
      true,
    ),
  ];
}

function ctHeader(i: number): El[] {
  const z = -400 + i * 1.25;
  const sop = uid(1840934, 2023112, 5000000 + i);
  return [
    ...studyModule(),
    ...patientModule('Doe^Jane^Q', 'PID0012345'),
    str(0x00080008, 'CS', 'ORIGINAL\\PRIMARY\\AXIAL'),
    str(0x00080012, 'DA', '20231124'),
    str(0x00080013, 'TM', '102211.123000'),
    str(0x00080016, 'UI', CT_IMAGE_STORAGE),
    str(0x00080018, 'UI', sop),
    str(0x00080021, 'DA', '20231124'),
    str(0x00080022, 'DA', '20231124'),
    str(0x00080023, 'DA', '20231124'),
    str(0x00080031, 'TM', '101812.000000'),
    str(0x00080032, 'TM', '101845.250000'),
    str(0x00080033, 'TM', '102211.123000'),
    str(0x00080060, 'CS', 'CT'),
    str(0x00080070, 'LO', 'ACME Medical Systems'),
    str(0x00081010, 'SH', 'CTSTATION07'),
    str(0x0008103e, 'LO', 'AXIAL 1.25mm STD'),
    str(0x00081040, 'LO', 'Radiology'),
    str(0x00081050, 'PN', 'Performer^Paula'),
    str(0x00081070, 'PN', 'Operator^Oliver'),
    str(0x00081090, 'LO', 'Imaginary CT 128'),
    sq(0x00089215, [[str(0x00080100, 'SH', '113100'), str(0x00080102, 'SH', 'DCM'), str(0x00080104, 'LO', 'Basic')]]),
    // Private block (group 0009, creator ACME_CT_01)
    str(0x00090010, 'LO', 'ACME_CT_01'),
    str(0x00091001, 'LO', 'ACME internal id 88217'),
    str(0x00091002, 'SH', 'RECON_B'),
    { tag: 0x00091003, vr: 'OB', value: new Uint8Array(64).fill(0x5a) },
    str(0x00180015, 'CS', 'CHEST'),
    str(0x00180022, 'CS', 'HELICAL MODE'),
    str(0x00180050, 'DS', '1.25'),
    str(0x00180060, 'DS', '120'),
    str(0x00180088, 'DS', '1.25'),
    str(0x00180090, 'DS', '500'),
    str(0x00181000, 'LO', 'SN-4471-99'),
    str(0x00181020, 'LO', 'VA44A 2.1.7'),
    str(0x00181030, 'LO', 'CAP_ROUTINE_CONTRAST'),
    str(0x00181100, 'DS', '380'),
    str(0x00181110, 'DS', '1085.6'),
    str(0x00181111, 'DS', '595'),
    str(0x00181120, 'DS', '0'),
    str(0x00181130, 'DS', '168'),
    str(0x00181140, 'CS', 'CW'),
    str(0x00181150, 'IS', '500'),
    str(0x00181151, 'IS', '220'),
    str(0x00181152, 'IS', '110'),
    str(0x00181160, 'SH', 'BODY'),
    str(0x00181170, 'IS', '24'),
    str(0x00181190, 'DS', '0.7'),
    str(0x00181210, 'SH', 'STANDARD'),
    str(0x00185100, 'CS', 'FFS'),
    fd(0x00189305, 0.5),
    // Private block (group 0019, creator ACME_CT_02)
    str(0x00190010, 'LO', 'ACME_CT_02'),
    str(0x00191001, 'DS', '12.5'),
    str(0x00191002, 'SH', 'KERNEL_B30f'),
    str(0x0020000e, 'UI', CT_SERIES_UID),
    str(0x00200011, 'IS', '3'),
    str(0x00200012, 'IS', '1'),
    str(0x00200013, 'IS', String(i + 1)),
    str(0x00200032, 'DS', `-249.5\\-249.5\\${z.toFixed(2)}`),
    str(0x00200037, 'DS', '1\\0\\0\\0\\1\\0'),
    str(0x00200052, 'UI', FOR_UID),
    str(0x00201040, 'LO', 'SN'),
    str(0x00201041, 'DS', z.toFixed(2)),
    str(0x00204000, 'LT', 'Synthetic slice for Veil benchmark'),
    us(0x00280002, 1),
    str(0x00280004, 'CS', 'MONOCHROME2'),
    us(0x00280010, 512),
    us(0x00280011, 512),
    str(0x00280030, 'DS', '0.976562\\0.976562'),
    us(0x00280100, 16),
    us(0x00280101, 12),
    us(0x00280102, 11),
    us(0x00280103, 0),
    str(0x00281050, 'DS', '40\\400'),
    str(0x00281051, 'DS', '400\\1500'),
    str(0x00281052, 'DS', '-1024'),
    str(0x00281053, 'DS', '1'),
    str(0x00281055, 'LO', 'WINDOW1\\WINDOW2'),
    str(0x00321032, 'PN', 'Requester^Rita'),
    str(0x00321060, 'LO', 'CT CAP'),
    str(0x00400244, 'DA', '20231124'),
    str(0x00400245, 'TM', '101530'),
    str(0x00400253, 'SH', 'PPS-99812'),
    str(0x00400254, 'LO', 'CT Chest Abdomen Pelvis'),
    // Private block (group 0043, creator ACME_CT_03) with a private sequence
    str(0x00430010, 'LO', 'ACME_CT_03'),
    str(0x00431001, 'LO', 'private note'),
    sq(0x00431002, [[str(0x00080100, 'SH', 'X1'), str(0x00080104, 'LO', 'private coded item')]]),
    fd(0x00431003, 1.5, 2.5, 3.5),
  ];
}

/** A 512x512 16-bit phantom (a disc with noise), one buffer reused for every slice with a per-slice stamp. */
function phantom(rows: number, cols: number, seed: number): Uint8Array {
  const out = new Uint8Array(rows * cols * 2);
  const dv = new DataView(out.buffer);
  const rand = rng(seed);
  const r2 = (rows * 0.45) ** 2;
  for (let y = 0; y < rows; y++) {
    for (let x = 0; x < cols; x++) {
      const d = (x - cols / 2) ** 2 + (y - rows / 2) ** 2;
      const v = d < r2 ? 1000 + Math.floor(rand() * 80) : Math.floor(rand() * 20);
      dv.setUint16((y * cols + x) * 2, v, true);
    }
  }
  return out;
}

function stamp(pixels: Uint8Array, n: number): void {
  new DataView(pixels.buffer, pixels.byteOffset).setUint32(0, n, true);
}

function writeParts(path: string, parts: readonly Uint8Array[]): void {
  const fd = openSync(path, 'w');
  try {
    for (const p of parts) {
      let o = 0;
      while (o < p.length) o += writeSync(fd, p, o, p.length - o);
    }
  } finally {
    closeSync(fd);
  }
}

function generateCT(dir: string): string[] {
  mkdirSync(dir, { recursive: true });
  const pixels = phantom(512, 512, 42);
  const files: string[] = [];
  for (let i = 0; i < CT_SLICES; i++) {
    const sop = uid(1840934, 2023112, 5000000 + i);
    stamp(pixels, i);
    const path = join(dir, `ct-${String(i + 1).padStart(4, '0')}.dcm`);
    writeParts(path, [
      fileMeta(CT_IMAGE_STORAGE, sop),
      encodeDataset(ctHeader(i)),
      pixelDataHeader(pixels.length),
      pixels,
    ]);
    files.push(path);
  }
  return files;
}

function smallImage(i: number, rand: () => number): Uint8Array {
  const sop = uid(2840934, 2023112, 6000000 + i);
  const px = new Uint8Array(64 * 64);
  for (let k = 0; k < px.length; k++) px[k] = Math.floor(rand() * 256);
  const els: El[] = [
    ...patientModule(`Patient^Small^${i}`, `PS${String(i).padStart(6, '0')}`),
    str(0x00080005, 'CS', 'ISO_IR 100'),
    str(0x00080008, 'CS', 'DERIVED\\SECONDARY'),
    str(0x00080016, 'UI', SECONDARY_CAPTURE),
    str(0x00080018, 'UI', sop),
    str(0x00080020, 'DA', '20231124'),
    str(0x00080030, 'TM', '101530'),
    str(0x00080050, 'SH', `ACC${i}`),
    str(0x00080060, 'CS', 'OT'),
    str(0x00080064, 'CS', 'WSD'),
    str(0x00080090, 'PN', 'Referrer^Robert'),
    str(0x0020000d, 'UI', uid(2840934, 2023112, 100 + (i % 50))),
    str(0x0020000e, 'UI', uid(2840934, 2023112, 200 + (i % 50))),
    str(0x00200010, 'SH', String(i % 50)),
    str(0x00200011, 'IS', '1'),
    str(0x00200013, 'IS', String(i + 1)),
    str(0x00200020, 'CS', 'L\\F'),
    us(0x00280002, 1),
    str(0x00280004, 'CS', 'MONOCHROME2'),
    us(0x00280010, 64),
    us(0x00280011, 64),
    us(0x00280100, 8),
    us(0x00280101, 8),
    us(0x00280102, 7),
    us(0x00280103, 0),
    str(0x00090010, 'LO', 'ACME_SC_01'),
    str(0x00091001, 'LO', `thumb ${i}`),
  ];
  return concat([fileMeta(SECONDARY_CAPTURE, sop), encodeDataset(els), encodeElement(PIXEL_DATA, 'OB', px, SYNTAX)]);
}

function srDocument(i: number, rand: () => number): Uint8Array {
  const sop = uid(3840934, 2023112, 7000000 + i);
  const code = (value: string, meaning: string): El[] => [
    str(0x00080100, 'SH', value),
    str(0x00080102, 'SH', 'DCM'),
    str(0x00080104, 'LO', meaning),
  ];
  const sentences = 4 + Math.floor(rand() * 40);
  const content: El[][] = [];
  for (let k = 0; k < sentences; k++) {
    content.push([
      str(0x0040a010, 'CS', 'CONTAINS'),
      str(0x0040a040, 'CS', 'TEXT'),
      sq(0x0040a043, [code('121071', 'Finding')]),
      str(0x0040a160, 'UT', `Finding ${k} of report ${i}: no acute abnormality. Lungs clear; heart size normal.`),
    ]);
  }
  const els: El[] = [
    ...patientModule(`Patient^Report^${i}`, `PR${String(i).padStart(6, '0')}`),
    str(0x00080005, 'CS', 'ISO_IR 100'),
    str(0x00080016, 'UI', BASIC_TEXT_SR),
    str(0x00080018, 'UI', sop),
    str(0x00080020, 'DA', '20231124'),
    str(0x00080023, 'DA', '20231124'),
    str(0x00080030, 'TM', '101530'),
    str(0x00080033, 'TM', '111530'),
    str(0x00080050, 'SH', `ACC${i}`),
    str(0x00080060, 'CS', 'SR'),
    str(0x00080070, 'LO', 'ACME Reporting'),
    str(0x00080090, 'PN', 'Referrer^Robert'),
    str(0x0020000d, 'UI', uid(3840934, 2023112, 100 + (i % 50))),
    str(0x0020000e, 'UI', uid(3840934, 2023112, 300 + (i % 50))),
    str(0x00200010, 'SH', String(i % 50)),
    str(0x00200011, 'IS', '99'),
    str(0x00200013, 'IS', '1'),
    str(0x0040a040, 'CS', 'CONTAINER'),
    sq(0x0040a043, [code('18748-4', 'Diagnostic Imaging Report')]),
    str(0x0040a050, 'CS', 'SEPARATE'),
    str(0x0040a491, 'CS', 'COMPLETE'),
    str(0x0040a493, 'CS', 'VERIFIED'),
    sq(0x0040a073, [[str(0x0040a027, 'LO', 'General Hospital'), str(0x0040a075, 'PN', 'Verifier^Vera')]]),
    sq(0x0040a730, content, i % 2 === 0),
  ];
  return concat([fileMeta(BASIC_TEXT_SR, sop), encodeDataset(els)]);
}

function generateSmall(dir: string): string[] {
  mkdirSync(dir, { recursive: true });
  const rand = rng(7);
  const files: string[] = [];
  for (let i = 0; i < SMALL_IMAGES + SMALL_SR; i++) {
    const image = i % 2 === 0;
    const bytes = image ? smallImage(i, rand) : srDocument(i, rand);
    const path = join(dir, `${image ? 'sc' : 'sr'}-${String(i + 1).padStart(5, '0')}.dcm`);
    writeFileSync(path, bytes);
    files.push(path);
  }
  return files;
}

function generateMulti(dir: string): string[] {
  mkdirSync(dir, { recursive: true });
  const frame = phantom(512, 512, 99);
  const sop = uid(4840934, 2023112, 8000000);
  const perFrame: El[][] = [];
  for (let f = 0; f < MF_FRAMES; f++) {
    perFrame.push([
      sq(0x00209111, [[ul(0x00209157, 1, f + 1), str(0x00209056, 'SH', 'STACK1'), us(0x00209057, f + 1)]]),
      sq(0x00209113, [[str(0x00200032, 'DS', `-249.5\\-249.5\\${(-250 + f * 1.25).toFixed(2)}`)]]),
      sq(0x00289145, [[str(0x00281050, 'DS', '40'), str(0x00281051, 'DS', '400')]]),
      sq(0x00189321, [[fd(0x00189328, 500), fd(0x00189330, 220 + (f % 7)), fd(0x00189332, 110 + (f % 7) / 2)]]),
    ]);
  }
  const els: El[] = [
    ...studyModule(),
    ...patientModule('Doe^Jane^Q', 'PID0012345'),
    str(0x00080008, 'CS', 'ORIGINAL\\PRIMARY\\AXIAL\\NONE'),
    str(0x00080016, 'UI', ENHANCED_CT_STORAGE),
    str(0x00080018, 'UI', sop),
    str(0x00080060, 'CS', 'CT'),
    str(0x00080070, 'LO', 'ACME Medical Systems'),
    str(0x00090010, 'LO', 'ACME_CT_01'),
    str(0x00091001, 'LO', 'ACME internal id 88218'),
    str(0x0020000e, 'UI', uid(4840934, 2023112, 4559014)),
    str(0x00200011, 'IS', '4'),
    str(0x00200013, 'IS', '1'),
    str(0x00200052, 'UI', FOR_UID),
    us(0x00280002, 1),
    str(0x00280004, 'CS', 'MONOCHROME2'),
    str(0x00280008, 'IS', String(MF_FRAMES)),
    us(0x00280010, 512),
    us(0x00280011, 512),
    us(0x00280100, 16),
    us(0x00280101, 12),
    us(0x00280102, 11),
    us(0x00280103, 0),
    sq(0x52009229, [
      [
        sq(0x00289110, [[str(0x00180050, 'DS', '1.25'), str(0x00280030, 'DS', '0.976562\\0.976562')]]),
        sq(0x00209116, [[str(0x00200037, 'DS', '1\\0\\0\\0\\1\\0')]]),
      ],
    ]),
    sq(0x52009230, perFrame),
  ];
  const path = join(dir, 'mf-0001.dcm');
  const fdOut = openSync(path, 'w');
  try {
    const head = concat([
      fileMeta(ENHANCED_CT_STORAGE, sop),
      encodeDataset(els),
      pixelDataHeader(frame.length * MF_FRAMES),
    ]);
    writeSync(fdOut, head);
    for (let f = 0; f < MF_FRAMES; f++) {
      stamp(frame, f);
      let o = 0;
      while (o < frame.length) o += writeSync(fdOut, frame, o, frame.length - o);
    }
  } finally {
    closeSync(fdOut);
  }
  return [path];
}

export interface Corpus {
  readonly files: Record<Part, string[]>;
}

/** The list file of a part: one absolute path a line. */
export function listPath(part: Part): string {
  return join(CORPUS_DIR, `${part}.list`);
}

export function readList(part: Part): string[] {
  return readFileSync(listPath(part), 'utf8').split('\n').filter(Boolean);
}

/** Generates the corpus unless a complete one of this version is cached. Returns the file lists. */
export function ensureCorpus(log: (s: string) => void = () => {}): Corpus {
  const stampPath = join(CORPUS_DIR, 'VERSION');
  const cached =
    existsSync(stampPath) &&
    readFileSync(stampPath, 'utf8').trim() === String(CORPUS_VERSION) &&
    PARTS.every((p) => existsSync(listPath(p)) && readList(p).every((f) => existsSync(f)));
  if (!cached) {
    rmSync(CORPUS_DIR, { recursive: true, force: true });
    mkdirSync(CORPUS_DIR, { recursive: true });
    const generators: Record<Part, (dir: string) => string[]> = {
      ct: generateCT,
      small: generateSmall,
      multi: generateMulti,
    };
    for (const part of PARTS) {
      const t0 = performance.now();
      const files = generators[part](join(CORPUS_DIR, part));
      writeFileSync(listPath(part), `${files.join('\n')}\n`);
      log(`  generated ${part}: ${files.length} files in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    }
    writeFileSync(stampPath, `${CORPUS_VERSION}\n`);
  }
  return { files: { ct: readList('ct'), small: readList('small'), multi: readList('multi') } };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  ensureCorpus((s) => console.log(s));
}
