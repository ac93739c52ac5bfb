/**
 * Redaction of a JPEG (ISO 10918-1 baseline or extended sequential, Huffman coded, 8 or 12 bits) in the DCT
 * domain, without decoding to pixels and compressing again: the entropy-coded data is Huffman-decoded into the
 * quantized coefficients of every block, every block of the chosen MCUs is set to a flat block (all AC zero, the DC
 * that gives the darkest value after the inverse DCT: minimum luminance with neutral chroma for YCbCr, minimum of
 * every component for RGB, the maximum for MONOCHROME1), and the scans are Huffman-coded again. Every other block
 * keeps its coefficients exactly (its DC is coded as a difference to the previous block's DC, so its bits may
 * change, not its value). Every marker segment of the input is copied bit for bit; where a scan needs a Huffman
 * symbol its tables lack (e.g. a larger DC difference), an optimal table for that scan (ISO 10918-1 K.2) is written
 * in a DHT segment just before its SOS. Interleaved and non-interleaved scans, any sampling (4:4:4, 4:2:2, 4:2:0,
 * ...), restart intervals (DRI, RSTn) are handled. The output is parsed again and its coefficients compared with
 * the intended ones (PIXELS_DCT_MISMATCH otherwise). Progressive, lossless, hierarchical and arithmetic-coded JPEG
 * are refused (PIXELS_JPEG_UNSUPPORTED); a stream that does not parse is PIXELS_JPEG_CORRUPT.
 *
 * Example:
 *   const { width, height } = mcuSize(jpeg);          // pixels per MCU
 *   const out = blankJpegBlocks(jpeg, (mx, my) => mx === 0 && my === 0, dctBlankValue('MONOCHROME2'));
 */
import { VeilError } from '@veil/core';

export type BlankLevel = 'min' | 'max';

export interface BlankFill {
  readonly level: BlankLevel;
  /**
   * Whether three components are YCbCr (blank: minimum luminance, neutral chroma) or RGB (every component at the
   * level). From the DICOM Photometric Interpretation when it says (YBR_*: YCbCr, RGB: RGB, as DICOM readers
   * interpret the stream), else libjpeg's rule (JFIF or Adobe transform markers, component ids 'R','G','B').
   */
  readonly ycc?: boolean | undefined;
}

const TAG = '(7FE0,0010)';
const unsupported = (): never => {
  throw new VeilError('PIXELS_JPEG_UNSUPPORTED', { path: TAG });
};
const corrupt = (): never => {
  throw new VeilError('PIXELS_JPEG_CORRUPT', { path: TAG });
};

interface HuffTable {
  readonly counts: Uint8Array; // 16 entries: codes of length 1..16
  readonly symbols: Uint8Array;
  // Decoding (ISO 10918-1 F.2.2.3).
  readonly maxcode: Int32Array; // index 1..16, -1 when none
  readonly valptr: Int32Array;
  readonly mincode: Int32Array;
  // Encoding: code and size per symbol (size 0: not in the table).
  readonly code: Uint16Array;
  readonly size: Uint8Array;
}

function buildTable(counts: Uint8Array, symbols: Uint8Array): HuffTable {
  const maxcode = new Int32Array(18).fill(-1);
  const valptr = new Int32Array(17);
  const mincode = new Int32Array(17);
  const code = new Uint16Array(256);
  const size = new Uint8Array(256);
  let c = 0;
  let k = 0;
  for (let l = 1; l <= 16; l++) {
    const n = counts[l - 1] as number;
    valptr[l] = k;
    mincode[l] = c;
    for (let i = 0; i < n; i++) {
      const sym = symbols[k] as number;
      if (k >= symbols.length) corrupt();
      code[sym] = c;
      size[sym] = l;
      c++;
      k++;
    }
    if (n > 0) maxcode[l] = c - 1;
    if (c > 1 << l) corrupt();
    c <<= 1;
  }
  return { counts, symbols, maxcode, valptr, mincode, code, size };
}

interface Component {
  readonly id: number;
  readonly h: number;
  readonly v: number;
  readonly tq: number;
  /** Blocks per row / column in the MCU-padded grid. */
  readonly bw: number;
  readonly bh: number;
  /** Blocks per row / column a non-interleaved scan covers. */
  readonly sw: number;
  readonly sh: number;
  /** 64 quantized coefficients per block, zigzag order. */
  coeffs: Int32Array;
}

interface FrameHeader {
  readonly precision: number;
  readonly width: number;
  readonly height: number;
  readonly hmax: number;
  readonly vmax: number;
  readonly mcusX: number;
  readonly mcusY: number;
  readonly components: Component[];
}

interface ScanPart {
  readonly kind: 'scan';
  /** The SOS segment [start, end) and its entropy-coded data [end, dataEnd). */
  readonly start: number;
  readonly end: number;
  readonly dataEnd: number;
  readonly comps: { c: Component; td: number; ta: number }[];
  readonly restart: number;
  dc: (HuffTable | undefined)[];
  ac: (HuffTable | undefined)[];
}

interface CopyPart {
  readonly kind: 'copy';
  readonly start: number;
  readonly end: number;
  /** A DHT segment: the tables it defines (class, id), applied in order when writing. */
  readonly dht?: { tc: number; th: number; table: HuffTable }[];
}

interface Parsed {
  readonly frame: FrameHeader;
  readonly parts: (ScanPart | CopyPart)[];
  readonly qt: (Uint16Array | undefined)[];
  /** Whether three components are YCbCr (libjpeg's rule: JFIF, Adobe transform, component ids). */
  readonly ycc: boolean;
}

const u16 = (b: Uint8Array, at: number): number => ((b[at] as number) << 8) | (b[at + 1] as number);

/** Where the entropy-coded data starting at `at` ends: the first marker other than RSTn (FF00 is stuffing). */
function scanDataEnd(b: Uint8Array, at: number): number {
  let i = at;
  while (i + 1 < b.length) {
    if (b[i] === 0xff) {
      const n = b[i + 1] as number;
      if (n === 0x00 || (n >= 0xd0 && n <= 0xd7)) {
        i += 2;
        continue;
      }
      if (n === 0xff) {
        i++;
        continue;
      }
      return i;
    }
    i++;
  }
  return corrupt();
}

function parse(b: Uint8Array): Parsed {
  if (b[0] !== 0xff || b[1] !== 0xd8) corrupt();
  const parts: (ScanPart | CopyPart)[] = [{ kind: 'copy', start: 0, end: 2 }];
  const dc: (HuffTable | undefined)[] = [];
  const ac: (HuffTable | undefined)[] = [];
  const qt: (Uint16Array | undefined)[] = [];
  let frame: FrameHeader | undefined;
  let restart = 0;
  let jfif = false;
  let adobe: number | undefined;
  let pos = 2;
  for (;;) {
    // Skip anything that is not a marker (fill bytes 0xFF before a marker are part of it).
    let start = pos;
    while (pos < b.length && b[pos] !== 0xff) pos++;
    if (pos > start) parts.push({ kind: 'copy', start, end: pos });
    start = pos;
    while (pos + 1 < b.length && b[pos + 1] === 0xff) pos++;
    if (pos + 1 >= b.length) corrupt();
    const marker = b[pos + 1] as number;
    if (marker === 0xd9) {
      parts.push({ kind: 'copy', start, end: b.length });
      break;
    }
    if (marker === 0xd8 || (marker >= 0xd0 && marker <= 0xd7) || marker === 0x01) corrupt();
    if (pos + 4 > b.length) corrupt();
    const len = u16(b, pos + 2);
    const segStart = pos + 4;
    const segEnd = pos + 2 + len;
    if (len < 2 || segEnd > b.length) corrupt();
    if (marker === 0xc0 || marker === 0xc1) {
      if (frame) unsupported(); // one frame per stream (no hierarchical)
      const precision = b[segStart] as number;
      const height = u16(b, segStart + 1);
      const width = u16(b, segStart + 3);
      const nc = b[segStart + 5] as number;
      if ((precision !== 8 && precision !== 12) || height === 0 || width === 0 || nc === 0 || nc > 4) unsupported();
      if (segEnd < segStart + 6 + 3 * nc) corrupt();
      const raw: { id: number; h: number; v: number; tq: number }[] = [];
      for (let i = 0; i < nc; i++) {
        const at = segStart + 6 + 3 * i;
        const hv = b[at + 1] as number;
        const h = hv >> 4;
        const v = hv & 15;
        if (h < 1 || h > 4 || v < 1 || v > 4) corrupt();
        raw.push({ id: b[at] as number, h, v, tq: (b[at + 2] as number) & 3 });
      }
      const hmax = Math.max(...raw.map((c) => c.h));
      const vmax = Math.max(...raw.map((c) => c.v));
      const mcusX = Math.ceil(width / (8 * hmax));
      const mcusY = Math.ceil(height / (8 * vmax));
      const components = raw.map((c) => {
        const bw = mcusX * c.h;
        const bh = mcusY * c.v;
        const sw = Math.ceil(Math.ceil((width * c.h) / hmax) / 8);
        const sh = Math.ceil(Math.ceil((height * c.v) / vmax) / 8);
        return { ...c, bw, bh, sw, sh, coeffs: new Int32Array(bw * bh * 64) };
      });
      frame = { precision, width, height, hmax, vmax, mcusX, mcusY, components };
      parts.push({ kind: 'copy', start, end: segEnd });
    } else if ((marker >= 0xc2 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8) || marker === 0xdc) {
      // Progressive, lossless, differential, arithmetic (SOF2.., DAC) and DNL.
      unsupported();
    } else if (marker === 0xc4) {
      const tables: { tc: number; th: number; table: HuffTable }[] = [];
      let at = segStart;
      while (at < segEnd) {
        const tc = (b[at] as number) >> 4;
        const th = (b[at] as number) & 15;
        if (tc > 1 || th > 3 || at + 17 > segEnd) corrupt();
        const counts = b.slice(at + 1, at + 17);
        const n = counts.reduce((s, x) => s + x, 0);
        if (at + 17 + n > segEnd) corrupt();
        const table = buildTable(counts, b.slice(at + 17, at + 17 + n));
        (tc === 0 ? dc : ac)[th] = table;
        tables.push({ tc, th, table });
        at += 17 + n;
      }
      parts.push({ kind: 'copy', start, end: segEnd, dht: tables });
    } else if (marker === 0xdb) {
      let at = segStart;
      while (at < segEnd) {
        const pq = (b[at] as number) >> 4;
        const tq = (b[at] as number) & 15;
        if (tq > 3) corrupt();
        const q = new Uint16Array(64);
        for (let k = 0; k < 64; k++) q[k] = pq ? u16(b, at + 1 + 2 * k) : (b[at + 1 + k] as number);
        qt[tq] = q;
        at += 1 + (pq ? 128 : 64);
      }
      parts.push({ kind: 'copy', start, end: segEnd });
    } else if (marker === 0xdd) {
      restart = u16(b, segStart);
      parts.push({ kind: 'copy', start, end: segEnd });
    } else if (marker === 0xda) {
      if (!frame) corrupt();
      const f = frame as FrameHeader;
      const ns = b[segStart] as number;
      if (ns < 1 || ns > 4 || segEnd < segStart + 1 + 2 * ns + 3) corrupt();
      const comps: { c: Component; td: number; ta: number }[] = [];
      for (let i = 0; i < ns; i++) {
        const id = b[segStart + 1 + 2 * i] as number;
        const t = b[segStart + 2 + 2 * i] as number;
        const c = f.components.find((x) => x.id === id);
        if (!c) corrupt();
        comps.push({ c: c as Component, td: t >> 4, ta: t & 15 });
      }
      // Ss, Se, Ah/Al mean nothing in a sequential scan (some encoders write Se 0; decoders ignore it).
      const dataEnd = scanDataEnd(b, segEnd);
      parts.push({ kind: 'scan', start, end: segEnd, dataEnd, comps, restart, dc: dc.slice(), ac: ac.slice() });
      pos = dataEnd;
      continue;
    } else {
      if (marker === 0xe0 && b[segStart] === 0x4a && b[segStart + 1] === 0x46 && b[segStart + 2] === 0x49) jfif = true;
      if (marker === 0xee && len >= 12 && b[segStart] === 0x41 && b[segStart + 1] === 0x64) adobe = b[segStart + 11];
      parts.push({ kind: 'copy', start, end: segEnd });
    }
    pos = segEnd;
  }
  if (!frame) corrupt();
  const f = frame as FrameHeader;
  let ycc = false;
  if (f.components.length === 3) {
    const ids = f.components.map((c) => c.id);
    if (jfif) ycc = true;
    else if (adobe !== undefined) ycc = adobe !== 0;
    else ycc = !(ids[0] === 0x52 && ids[1] === 0x47 && ids[2] === 0x42);
  }
  return { frame: f, parts, qt, ycc };
}

/**
 * Visits the blocks of a scan in coding order: `block(k, index)` with k the component's place in the scan and index
 * the block in the component's grid, and `restart()` where a restart marker follows.
 */
function visitScan(
  f: FrameHeader,
  scan: ScanPart,
  block: (k: number, index: number) => void,
  restart: () => void,
): void {
  const ri = scan.restart;
  if (scan.comps.length === 1) {
    const c = (scan.comps[0] as { c: Component }).c;
    const total = c.sw * c.sh;
    let n = 0;
    for (let by = 0; by < c.sh; by++) {
      for (let bx = 0; bx < c.sw; bx++) {
        block(0, by * c.bw + bx);
        n++;
        if (ri > 0 && n % ri === 0 && n < total) restart();
      }
    }
    return;
  }
  const total = f.mcusX * f.mcusY;
  const comps = scan.comps.map((x) => x.c);
  let n = 0;
  for (let my = 0; my < f.mcusY; my++) {
    for (let mx = 0; mx < f.mcusX; mx++) {
      for (let k = 0; k < comps.length; k++) {
        const c = comps[k] as Component;
        for (let v = 0; v < c.v; v++) {
          const row = (my * c.v + v) * c.bw + mx * c.h;
          for (let h = 0; h < c.h; h++) block(k, row + h);
        }
      }
      n++;
      if (ri > 0 && n % ri === 0 && n < total) restart();
    }
  }
}

/** Entropy-coded data, read ahead up to 32 bits; FF00 is an FF byte, a marker ends the data (zeros after it). */
class BitReader {
  private acc = 0;
  private count = 0;
  /** Zero bits fed after a marker or the end: reading one of them means the data was short. */
  private fed = 0;
  constructor(
    private readonly b: Uint8Array,
    private pos: number,
    private readonly end: number,
  ) {}
  private fill(): void {
    while (this.count <= 24) {
      let byte = 0;
      const b = this.b;
      if (this.pos < this.end && !(b[this.pos] === 0xff && b[this.pos + 1] !== 0x00)) {
        byte = b[this.pos++] as number;
        if (byte === 0xff) this.pos++; // the stuffed zero
      } else this.fed += 8;
      this.acc = ((this.acc << 8) | byte) >>> 0;
      this.count += 8;
    }
  }
  private take(n: number): number {
    if (this.count < n) this.fill();
    const v = (this.acc >>> (this.count - n)) & ((1 << n) - 1);
    this.count -= n;
    this.acc = this.count === 0 ? 0 : (this.acc & (2 ** this.count - 1)) >>> 0;
    if (this.fed > this.count) corrupt();
    return v;
  }
  receive(s: number): number {
    return s === 0 ? 0 : this.take(s);
  }
  decode(t: HuffTable): number {
    if (this.count < 16) this.fill();
    const look = this.acc >>> (this.count - 16); // 16 bits, MSB first
    for (let l = 1; l <= 16; l++) {
      const code = look >>> (16 - l);
      if (code <= (t.maxcode[l] as number)) {
        this.take(l);
        return t.symbols[(t.valptr[l] as number) + code - (t.mincode[l] as number)] as number;
      }
    }
    return corrupt();
  }
  /** Byte-aligns and reads the restart marker (bits read ahead are given back). */
  restart(): void {
    const whole = Math.floor((this.count - this.fed) / 8);
    // The bytes read ahead and not used: step back over them (an FF among them took its stuffed zero along).
    let back = whole;
    while (back > 0) {
      this.pos--;
      if (this.b[this.pos] === 0x00 && this.b[this.pos - 1] === 0xff) this.pos--;
      back--;
    }
    this.acc = 0;
    this.count = 0;
    this.fed = 0;
    while (this.pos < this.end && this.b[this.pos] === 0xff && this.b[this.pos + 1] === 0xff) this.pos++;
    const m = this.b[this.pos + 1] as number;
    if (this.b[this.pos] !== 0xff || m < 0xd0 || m > 0xd7) corrupt();
    this.pos += 2;
  }
}

const extend = (v: number, s: number): number => (s === 0 ? 0 : v < 1 << (s - 1) ? v - (1 << s) + 1 : v);
const category = (v: number): number => {
  let a = v < 0 ? -v : v;
  let s = 0;
  while (a) {
    s++;
    a >>= 1;
  }
  return s;
};

function decodeScan(b: Uint8Array, f: FrameHeader, scan: ScanPart): void {
  const r = new BitReader(b, scan.end, scan.dataEnd);
  const dcT = scan.comps.map(({ td }) => scan.dc[td] ?? corrupt());
  const acT = scan.comps.map(({ ta }) => scan.ac[ta] ?? corrupt());
  const co = scan.comps.map((x) => x.c.coeffs);
  const pred = new Int32Array(scan.comps.length);
  visitScan(
    f,
    scan,
    (k, blk) => {
      const c = co[k] as Int32Array;
      const base = blk * 64;
      c.fill(0, base, base + 64);
      const t = r.decode(dcT[k] as HuffTable);
      if (t > 16) corrupt();
      pred[k] = (pred[k] as number) + extend(r.receive(t), t);
      c[base] = pred[k] as number;
      const ac = acT[k] as HuffTable;
      for (let z = 1; z < 64; ) {
        const rs = r.decode(ac);
        const run = rs >> 4;
        const sz = rs & 15;
        if (sz === 0) {
          if (run !== 15) break;
          z += 16;
          continue;
        }
        z += run;
        if (z > 63) corrupt();
        c[base + z] = extend(r.receive(sz), sz);
        z++;
      }
    },
    () => {
      r.restart();
      pred.fill(0);
    },
  );
}

/** Visits every symbol a scan codes: (DC 0 / AC 1, component in scan, symbol, extra bit count, extra bits). */
function walkSymbols(
  f: FrameHeader,
  scan: ScanPart,
  emit: (kind: 0 | 1, k: number, sym: number, extra: number, value: number) => void,
  restart: (n: number) => void,
): void {
  const pred = new Int32Array(scan.comps.length);
  const co = scan.comps.map((x) => x.c.coeffs);
  let rst = 0;
  visitScan(
    f,
    scan,
    (k, blk) => {
      const c = co[k] as Int32Array;
      const base = blk * 64;
      const diff = (c[base] as number) - (pred[k] as number);
      pred[k] = c[base] as number;
      const s = category(diff);
      emit(0, k, s, s, diff < 0 ? diff + (1 << s) - 1 : diff);
      let run = 0;
      for (let z = 1; z < 64; z++) {
        const v = c[base + z] as number;
        if (v === 0) {
          run++;
          continue;
        }
        while (run > 15) {
          emit(1, k, 0xf0, 0, 0);
          run -= 16;
        }
        const sz = category(v);
        emit(1, k, (run << 4) | sz, sz, v < 0 ? v + (1 << sz) - 1 : v);
        run = 0;
      }
      if (run > 0) emit(1, k, 0x00, 0, 0);
    },
    () => {
      restart(rst);
      rst = (rst + 1) & 7;
      pred.fill(0);
    },
  );
}

/** An optimal Huffman table for symbol frequencies (ISO 10918-1 K.2, as libjpeg's jpeg_gen_optimal_table). */
function optimalTable(freqIn: Float64Array): { counts: Uint8Array; symbols: Uint8Array } {
  const freq = new Float64Array(257);
  freq.set(freqIn.subarray(0, 256));
  freq[256] = 1; // reserves the all-ones code point
  const codesize = new Int32Array(257);
  const others = new Int32Array(257).fill(-1);
  for (;;) {
    let c1 = -1;
    let v = 1e300;
    for (let i = 0; i <= 256; i++) {
      if ((freq[i] as number) && (freq[i] as number) <= v) {
        v = freq[i] as number;
        c1 = i;
      }
    }
    let c2 = -1;
    v = 1e300;
    for (let i = 0; i <= 256; i++) {
      if ((freq[i] as number) && (freq[i] as number) <= v && i !== c1) {
        v = freq[i] as number;
        c2 = i;
      }
    }
    if (c2 < 0) break;
    freq[c1] = (freq[c1] as number) + (freq[c2] as number);
    freq[c2] = 0;
    codesize[c1] = (codesize[c1] as number) + 1;
    while ((others[c1] as number) >= 0) {
      c1 = others[c1] as number;
      codesize[c1] = (codesize[c1] as number) + 1;
    }
    others[c1] = c2;
    codesize[c2] = (codesize[c2] as number) + 1;
    while ((others[c2] as number) >= 0) {
      c2 = others[c2] as number;
      codesize[c2] = (codesize[c2] as number) + 1;
    }
  }
  const bits = new Int32Array(33);
  for (let i = 0; i <= 256; i++)
    if (codesize[i]) bits[codesize[i] as number] = (bits[codesize[i] as number] as number) + 1;
  for (let i = 32; i > 16; i--) {
    while ((bits[i] as number) > 0) {
      let j = i - 2;
      while (bits[j] === 0) j--;
      bits[i] = (bits[i] as number) - 2;
      bits[i - 1] = (bits[i - 1] as number) + 1;
      bits[j + 1] = (bits[j + 1] as number) + 2;
      bits[j] = (bits[j] as number) - 1;
    }
  }
  let i = 16;
  while (bits[i] === 0) i--;
  bits[i] = (bits[i] as number) - 1; // drop the reserved code point
  const counts = new Uint8Array(16);
  for (let l = 1; l <= 16; l++) counts[l - 1] = bits[l] as number;
  const symbols: number[] = [];
  for (let l = 1; l <= 32; l++) for (let s = 0; s < 256; s++) if (codesize[s] === l) symbols.push(s);
  return { counts, symbols: Uint8Array.from(symbols) };
}

class BitWriter {
  private out = new Uint8Array(1 << 16);
  private length = 0;
  private acc = 0;
  private n = 0;
  private byte(v: number): void {
    if (this.length + 2 > this.out.length) {
      const bigger = new Uint8Array(this.out.length * 2);
      bigger.set(this.out);
      this.out = bigger;
    }
    this.out[this.length++] = v;
  }
  put(code: number, size: number): void {
    if (size === 0) return;
    this.acc = ((this.acc << size) | (code & ((1 << size) - 1))) >>> 0;
    this.n += size;
    while (this.n >= 8) {
      const v = (this.acc >>> (this.n - 8)) & 0xff;
      this.byte(v);
      if (v === 0xff) this.byte(0x00);
      this.n -= 8;
    }
    this.acc &= (1 << this.n) - 1;
  }
  /** Pads the last byte with one bits. */
  align(): void {
    if (this.n > 0) this.put(0xff, 8 - this.n);
  }
  raw(a: number, b: number): void {
    this.byte(a);
    this.byte(b);
  }
  bytes(): Uint8Array {
    return this.out.slice(0, this.length);
  }
}

function encodeScan(f: FrameHeader, scan: ScanPart, dc: HuffTable[], ac: HuffTable[]): Uint8Array {
  const w = new BitWriter();
  walkSymbols(
    f,
    scan,
    (kind, k, sym, extra, value) => {
      const t = (kind === 0 ? dc : ac)[k] as HuffTable;
      w.put(t.code[sym] as number, t.size[sym] as number);
      if (extra) w.put(value, extra);
    },
    (n) => {
      w.align();
      w.raw(0xff, 0xd0 + n);
    },
  );
  w.align();
  return w.bytes();
}

/** Pixels per MCU of the JPEG's frame. */
export function mcuSize(jpeg: Uint8Array): { width: number; height: number } {
  const { frame } = parse(jpeg);
  return { width: 8 * frame.hmax, height: 8 * frame.vmax };
}

/** The quantized coefficients of every component (zigzag order, MCU-padded block grid): for tests and checks. */
export function jpegCoefficients(jpeg: Uint8Array): { frame: FrameHeader; coeffs: Int32Array[] } {
  const p = parse(jpeg);
  for (const part of p.parts) if (part.kind === 'scan') decodeScan(jpeg, p.frame, part);
  return { frame: p.frame, coeffs: p.frame.components.map((c) => c.coeffs) };
}

/** The blank of a photometric interpretation: MONOCHROME1 shows its maximum as black; YBR_* is YCbCr, RGB is RGB. */
export function dctBlankValue(photometric: string): BlankFill {
  const ycc = photometric.startsWith('YBR') ? true : photometric === 'RGB' ? false : undefined;
  return { level: photometric === 'MONOCHROME1' ? 'max' : 'min', ycc };
}

/**
 * The JPEG with every block of the MCUs `blank(mx, my)` selects set flat at the blank level; every other block's
 * coefficients unchanged. Throws PIXELS_JPEG_UNSUPPORTED / PIXELS_JPEG_CORRUPT / PIXELS_DCT_MISMATCH.
 */
export function blankJpegBlocks(
  jpeg: Uint8Array,
  blank: (mx: number, my: number) => boolean,
  fill: BlankFill,
): Uint8Array {
  const level = fill.level;
  const p = parse(jpeg);
  const f = p.frame;
  const scans = p.parts.filter((x): x is ScanPart => x.kind === 'scan');
  for (const s of scans) decodeScan(jpeg, f, s);
  // Every component must be coded by some scan.
  for (const c of f.components) if (!scans.some((s) => s.comps.some((x) => x.c === c))) corrupt();
  const half = 2 ** (f.precision - 1);
  f.components.forEach((c, ci) => {
    const q = p.qt[c.tq] ?? corrupt();
    const q0 = q[0] as number;
    let dc = 0;
    const chroma = (f.components.length === 3 ? (fill.ycc ?? p.ycc) : false) && ci > 0;
    if (!chroma) dc = level === 'min' ? -Math.ceil((8 * half) / q0) : Math.ceil((8 * (half - 1)) / q0);
    // A component coded only in its own scans has no blocks in the MCU padding.
    const interleaved = scans.some((s) => s.comps.length > 1 && s.comps.some((x) => x.c === c));
    const w = interleaved ? c.bw : c.sw;
    const h = interleaved ? c.bh : c.sh;
    for (let by = 0; by < h; by++) {
      for (let bx = 0; bx < w; bx++) {
        if (!blank(Math.floor(bx / c.h), Math.floor(by / c.v))) continue;
        const base = (by * c.bw + bx) * 64;
        c.coeffs.fill(0, base, base + 64);
        c.coeffs[base] = dc;
      }
    }
  });
  const intended = f.components.map((c) => c.coeffs.slice());
  // Write: every segment as it was; each scan coded again with the tables in force, or with new optimal tables
  // (a DHT before its SOS) when they lack a symbol the scan now needs.
  const dcState: (HuffTable | undefined)[] = [];
  const acState: (HuffTable | undefined)[] = [];
  const out: Uint8Array[] = [];
  for (const part of p.parts) {
    if (part.kind === 'copy') {
      for (const d of part.dht ?? []) (d.tc === 0 ? dcState : acState)[d.th] = d.table;
      out.push(jpeg.subarray(part.start, part.end));
      continue;
    }
    const n = part.comps.length;
    const freq = [...Array(2 * n)].map(() => new Float64Array(256));
    walkSymbols(
      f,
      part,
      (kind, k, sym) => {
        const a = freq[kind * n + k] as Float64Array;
        a[sym] = (a[sym] as number) + 1;
      },
      () => {},
    );
    const lacks = (t: HuffTable | undefined, fr: Float64Array): boolean => {
      if (!t) return true;
      for (let s = 0; s < 256; s++) if ((fr[s] as number) > 0 && t.size[s] === 0) return true;
      return false;
    };
    // Tables shared by several components of the scan get the sum of their frequencies.
    const need = (kind: 0 | 1): HuffTable[] => {
      const state = kind === 0 ? dcState : acState;
      const ids = part.comps.map((x) => (kind === 0 ? x.td : x.ta));
      const missing = ids.some((id, k) => lacks(state[id], freq[kind * n + k] as Float64Array));
      if (missing) {
        const seg: number[] = [];
        for (const id of new Set(ids)) {
          const sum = new Float64Array(256);
          ids.forEach((x, k) => {
            if (x === id)
              for (let s = 0; s < 256; s++) sum[s] = (sum[s] as number) + (freq[kind * n + k]?.[s] as number);
          });
          const { counts, symbols } = optimalTable(sum);
          state[id] = buildTable(counts, symbols);
          seg.push((kind << 4) | id, ...counts, ...symbols);
        }
        out.push(Uint8Array.from([0xff, 0xc4, ((seg.length + 2) >> 8) & 0xff, (seg.length + 2) & 0xff, ...seg]));
      }
      return ids.map((id) => state[id] as HuffTable);
    };
    const dcT = need(0);
    const acT = need(1);
    out.push(jpeg.subarray(part.start, part.end));
    out.push(encodeScan(f, part, dcT, acT));
  }
  const total = out.reduce((s, x) => s + x.length, 0);
  const result = new Uint8Array(total);
  let at = 0;
  for (const x of out) {
    result.set(x, at);
    at += x.length;
  }
  // Check: the output parses and holds exactly the intended coefficients.
  let again: Int32Array[];
  try {
    again = jpegCoefficients(result).coeffs;
  } catch {
    throw new VeilError('PIXELS_DCT_MISMATCH', { path: TAG });
  }
  intended.forEach((want, ci) => {
    const got = again[ci] as Int32Array;
    if (got.length !== want.length) throw new VeilError('PIXELS_DCT_MISMATCH', { path: TAG });
    for (let i = 0; i < want.length; i++)
      if (got[i] !== want[i]) throw new VeilError('PIXELS_DCT_MISMATCH', { path: TAG });
  });
  return result;
}
