/**
 * Parser safety, fail closed: every file of the generated hostile corpus (support/hostile.ts) stops the scanner with
 * its stable code and bounded memory; the caps are configurable and their defaults pass every real file of the
 * shared inventory with at least tenfold headroom; bytes the scanner does not read as elements are never released;
 * and the structural check of the release gate refuses an output that a strict second reader reads differently.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { inflateSync } from 'fflate';
import {
  checkStructure,
  DEFAULT_SCAN_LIMITS,
  type DicomFile,
  deidentify,
  type ElementContainer,
  isVeilError,
  materialize,
  parseDeidConfig,
  parseScanLimits,
  planDeidentified,
  scanFile,
  verifyFile,
} from '../src/index.ts';
import { inventory, readBytes } from './support/corpus.ts';
import { part10, TS } from './support/encode.ts';
import { deflateRepeated, HIDDEN_VALUES, hostileCorpus, normalDataset, normalFile } from './support/hostile.ts';

const key = new Uint8Array(32).fill(9);
const config = parseDeidConfig({});

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    return isVeilError(e) ? e.code : `not a VeilError: ${String(e)}`;
  }
  return 'no error';
}

function latin1(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i += 8192) s += String.fromCharCode(...b.subarray(i, i + 8192));
  return s;
}

describe('hostile corpus', () => {
  const corpus = hostileCorpus();

  test('the generator makes what it says: bombs inflate hundreds of times their size', () => {
    const unit = new Uint8Array([9, 0, 1, 16, 76, 79, 0, 0]);
    const small = deflateRepeated(new Uint8Array([1, 2, 3]), unit, 10_000, new Uint8Array([4]));
    const out = inflateSync(small);
    assert.equal(out.length, 3 + 80_000 + 1);
    assert.deepEqual([...out.subarray(0, 3)], [1, 2, 3]);
    assert.deepEqual([...out.subarray(3 + 8 * 777, 3 + 8 * 778)], [...unit]);
    assert.equal(out[out.length - 1], 4);
    const bomb = corpus.find((c) => c.name === 'deflate-bomb-elements')!;
    assert.ok(bomb.bytes.length < 1024 * 1024, `${bomb.bytes.length} bytes`);
    assert.ok(corpus.length >= 15);
  });

  for (const c of hostileCorpus()) {
    test(`${c.name}: ${c.about} -> ${c.code}`, () => {
      const before = process.memoryUsage().rss;
      assert.equal(
        codeOf(() => scanFile(c.bytes)),
        c.code,
      );
      // Bounded: the bombs stop at the inflate cap (16 MiB floor, 100x the deflated size), not at 512 MB.
      const grown = (process.memoryUsage().rss - before) / 2 ** 20;
      assert.ok(grown < 400, `RSS grew by ${grown.toFixed(0)} MiB`);
    });
  }

  test('lenient scan (veil dump) reads the stray-delimiter files with findings, not errors', () => {
    const top = corpus.find((c) => c.name === 'stray-delimiter-top')!;
    const file = scanFile(top.bytes, { lenient: true });
    const codes = file.findings.map((f) => f.code);
    assert.ok(codes.includes('STRAY_ITEM_DELIMITATION'), codes.join());
    assert.ok(codes.includes('TRAILING_DATA'), codes.join());
    const zeros = corpus.find((c) => c.name === 'trailing-zeros')!;
    assert.ok(scanFile(zeros.bytes, { lenient: true }).findings.some((f) => f.code === 'TRAILING_PADDING'));
    const deflated = corpus.find((c) => c.name === 'deflated-trailing-data')!;
    assert.ok(scanFile(deflated.bytes, { lenient: true }).findings.some((f) => f.code === 'TRAILING_DATA'));
  });

  test('the release gate refuses what a lenient scan would have let through (stray delimiter, hidden block)', () => {
    for (const name of ['stray-delimiter-top', 'stray-delimiter-item', 'stray-delimiter-sequence', 'trailing-zeros']) {
      const c = corpus.find((x) => x.name === name)!;
      // Suppose the scanner had been lenient on the input: the de-identified output carries the unparsed tail...
      const input = scanFile(c.bytes, { lenient: true });
      const result = deidentify(input, config, { key });
      const out = materialize(input.source, planDeidentified(input, result).segments);
      if (name !== 'trailing-zeros') {
        assert.ok(
          HIDDEN_VALUES.every((v) => latin1(out).includes(v)),
          `${name}: the attack carries the values out`,
        );
      }
      // ... which the strict scan of the output refuses (the gate's 'unreadable')...
      assert.match(
        codeOf(() => scanFile(out)),
        /^DICOM_(STRAY_DELIMITER|TRAILING_DATA)$/,
        name,
      );
      // ... and so does the independent structural check, even over a lenient scan of the output.
      const lenientOut = scanFile(out, { lenient: true });
      const problems = checkStructure(lenientOut);
      assert.equal(problems.length, 1, name);
      assert.match(problems[0]!.code, /^STRUCTURE_/, name);
      const findings = verifyFile(lenientOut, { original: input, config, key });
      assert.ok(
        findings.some((f) => f.detector === 'ambiguous-structure' && f.level === 'error'),
        `${name}: ${findings.map((f) => f.code).join()}`,
      );
      // No finding or error carries a value.
      const text = JSON.stringify(findings) + JSON.stringify(problems);
      for (const v of HIDDEN_VALUES) assert.ok(!text.includes(v));
    }
  });

  test('a normal file passes the structural check and its de-identified output holds no hidden value', () => {
    const file = scanFile(normalFile());
    assert.deepEqual(checkStructure(file), []);
    const result = deidentify(file, config, { key });
    assert.equal(result.quarantine, undefined);
    const out = materialize(file.source, planDeidentified(file, result).segments);
    assert.deepEqual(checkStructure(scanFile(out)), []);
    for (const v of HIDDEN_VALUES) assert.ok(!latin1(out).includes(v));
  });

  test('appending bytes to a planned output is refused by the structural check', () => {
    const file = scanFile(normalFile());
    const result = deidentify(file, config, { key });
    const out = materialize(file.source, planDeidentified(file, result).segments);
    const tampered = new Uint8Array(out.length + 16);
    tampered.set(out);
    const problems = checkStructure(scanFile(tampered, { lenient: true }));
    assert.match(problems[0]?.code ?? 'none', /^STRUCTURE_/);
  });
});

describe('limits', () => {
  test('every cap is configurable and fails with its code', () => {
    const normal = normalFile();
    assert.equal(
      codeOf(() => scanFile(normal, { limits: { maxElements: 5 } })),
      'DICOM_TOO_MANY_ELEMENTS',
    );
    assert.equal(
      codeOf(() => scanFile(normal, { limits: { maxDecodedBytes: 64 } })),
      'DICOM_DECODED_LIMIT',
    );
    const deep = hostileCorpus().find((c) => c.name === 'nesting-10000')!;
    assert.equal(
      codeOf(() => scanFile(deep.bytes, { limits: { maxDepth: 100_000 } })),
      'DICOM_TOO_DEEP',
    );
    const deflated = part10(normalDataset(), TS.deflated);
    assert.equal(scanFile(deflated).dataset.elements.length, 15);
    // Below the 16 MiB floor the ratio does not count; an absolute cap below the inflated size does.
    assert.equal(
      codeOf(() => scanFile(deflated, { limits: { maxInflateRatio: 1 } })),
      'no error',
    );
    assert.equal(
      codeOf(() => scanFile(deflated, { limits: { maxInflatedBytes: 100 } })),
      'DICOM_INFLATE_LIMIT',
    );
  });

  test('config: limits parse with defaults, and a bad key or value names its JSON path', () => {
    assert.deepEqual(parseDeidConfig({}).limits, DEFAULT_SCAN_LIMITS);
    assert.equal(parseDeidConfig({ limits: { maxDepth: 32 } }).limits?.maxDepth, 32);
    assert.equal(parseDeidConfig({ limits: { maxDepth: 32 } }).limits?.maxElements, DEFAULT_SCAN_LIMITS.maxElements);
    for (const bad of [{ maxDepth: 0 }, { maxDepth: 1.5 }, { maxDepth: '9' }, { depth: 9 }]) {
      assert.throws(
        () => parseDeidConfig({ limits: bad }),
        (e: unknown) => isVeilError(e) && e.code === 'CONFIG_INVALID' && /^\$\.limits\.\w+$/.test(e.path ?? ''),
      );
    }
    assert.throws(() => parseScanLimits([]), /CONFIG_INVALID/);
  });

  test('the defaults pass every real file of the inventory with tenfold headroom', () => {
    let elements = 0;
    let depth = 0;
    let decoded = 0;
    let ratio = 0;
    let inflated = 0;
    let scanned = 0;
    const limitCodes = new Set([
      'DICOM_TOO_MANY_ELEMENTS',
      'DICOM_TOO_DEEP',
      'DICOM_INFLATE_LIMIT',
      'DICOM_DECODED_LIMIT',
      'DICOM_TRAILING_DATA',
      'DICOM_STRAY_DELIMITER',
    ]);
    const walk = (c: ElementContainer, d: number): [number, number] => {
      let n = 0;
      let bytes = 0;
      depth = Math.max(depth, d);
      for (const el of c.elements) {
        n++;
        if (el.items) {
          for (const item of el.items) {
            const [a, b] = walk(item, d + 1);
            n += a + 1;
            bytes += b;
          }
        } else if (el.tag >>> 16 !== 0x7fe0 && el.length !== 0xffffffff) bytes += el.length;
        n += el.fragments?.length ?? 0;
      }
      return [n, bytes];
    };
    for (const f of inventory()) {
      let file: DicomFile;
      try {
        file = scanFile(readBytes(f.path));
      } catch (e) {
        assert.ok(isVeilError(e) && !limitCodes.has(e.code), `${f.rel}: ${String(e)}`);
        continue;
      }
      scanned++;
      const [n, bytes] = walk(file.dataset, 0);
      const [m, metaBytes] = file.meta ? walk(file.meta, 0) : [0, 0];
      elements = Math.max(elements, n + m);
      decoded = Math.max(decoded, bytes + metaBytes);
      if (file.datasetSource !== file.source) {
        inflated = Math.max(inflated, file.datasetSource.length);
        ratio = Math.max(ratio, file.datasetSource.length / (file.source.length - file.datasetOffset));
      }
    }
    assert.ok(scanned > 500, `${scanned} files scanned`);
    const d = DEFAULT_SCAN_LIMITS;
    assert.ok(d.maxElements >= 10 * elements, `elements ${elements}`);
    assert.ok(d.maxDepth >= 10 * depth, `depth ${depth}`);
    assert.ok(d.maxDecodedBytes >= 10 * decoded, `decoded ${decoded}`);
    assert.ok(d.maxInflatedBytes >= 10 * inflated, `inflated ${inflated}`);
    // The ratio cap only counts beyond the 16 MiB floor, which every real deflated file is under: the largest ratio
    // still fits under the cap.
    assert.ok(d.maxInflateRatio >= ratio, `ratio ${ratio}`);
  });
});
