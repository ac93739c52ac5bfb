/**
 * Specific Character Set codec: checked against pydicom (the oracle, run through /usr/bin/python3), against the
 * examples of PS3.5 Annexes H, I, J and K, against Python's codec tables, and by round-trip properties.
 *
 * Run: node --import tsx --test packages/core/test/charset.test.ts
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { planFor } from '../src/dicom/charset/character-set-table.ts';
import { DELIBERATE_DEVIATIONS, type DoubleByteSetId, doubleByteSet } from '../src/dicom/charset/double-byte-tables.ts';
import {
  type GraphicSet,
  ISO_IR_13,
  ISO_IR_58,
  ISO_IR_87,
  ISO_IR_100,
  ISO_IR_101,
  ISO_IR_109,
  ISO_IR_110,
  ISO_IR_126,
  ISO_IR_127,
  ISO_IR_138,
  ISO_IR_144,
  ISO_IR_148,
  ISO_IR_149,
  ISO_IR_159,
  ISO_IR_166,
  ISO_IR_203,
  repertoireOf,
} from '../src/dicom/charset/graphic-sets.ts';
import {
  type CharacterSet,
  DEFAULT_CHARACTER_SET,
  decodeText,
  encodeText,
  isAsciiBytes,
  parseSpecificCharacterSet,
} from '../src/dicom/charset/specific-character-set.ts';
import { VeilError } from '../src/dicom/errors.ts';

const PYTHON = '/usr/bin/python3';
const ORACLE = fileURLToPath(new URL('./oracle/charset_oracle.py', import.meta.url));
const DICOM = fileURLToPath(new URL('../../../../shared/data/dicom/', import.meta.url));

const hex = (bytes: Uint8Array): string => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
const fromHex = (s: string): Uint8Array => Uint8Array.from(s.match(/../g) ?? [], (h) => Number.parseInt(h, 16));
/** Bytes of a Latin-1 string ('\x1b$B' style literals). */
const bytesOf = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0));
/** A byte string for assertion messages, ESC shown as <ESC>, other non-ASCII as \xNN. */
const show = (bytes: Uint8Array): string =>
  Array.from(bytes, (b) =>
    b === 0x1b ? '<ESC>' : b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, '0')}`,
  ).join('');

function python(args: string[], input?: string): string {
  return execFileSync(PYTHON, args, { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024, input: input ?? '' });
}

/** Fails with a clear message when the oracle cannot run. */
function requirePydicom(): void {
  if (!existsSync(PYTHON)) assert.fail(`${PYTHON} not found: the charset oracle needs Debian's python3-pydicom`);
  try {
    python(['-c', 'import pydicom']);
  } catch {
    assert.fail(`${PYTHON} cannot import pydicom: install python3-pydicom (apt-get install python3-pydicom)`);
  }
}

// ---------------------------------------------------------------------------------------------------------------------
// 1. Every text element of the charset test files, decoded by pydicom and by decodeText

interface OracleElement {
  file: string;
  path: string;
  tag: string;
  vr: string;
  rawBytesHex: string;
  specificCharacterSet: string;
  pydicomValue: string;
}

interface OracleOutput {
  pydicomVersion: string;
  files: { file: string; specificCharacterSet: string }[];
  elements: OracleElement[];
}

let oracleCache: OracleOutput | undefined;
function oracle(): OracleOutput {
  if (!oracleCache) {
    requirePydicom();
    assert.ok(existsSync(DICOM), `shared test data not found at ${DICOM}`);
    const out = python([
      ORACLE,
      '--all',
      `${DICOM}fo-dicom/Test_Data/charset`,
      '--all',
      `${DICOM}pydicom-test-files/charset_files`,
      '--nontrivial',
      DICOM,
    ]);
    oracleCache = JSON.parse(out) as OracleOutput;
  }
  return oracleCache;
}

const rstrip = (s: string): string => s.replace(/[\0 ]+$/, '');

/** decodeText's whole-value text presented the way pydicom presents an element value. */
function asPydicomPresents(text: string, vr: string): string {
  if (vr === 'ST' || vr === 'LT' || vr === 'UT') return rstrip(text);
  if (vr === 'PN') {
    // convert_PN strips the value, splits values; PersonName drops empty trailing component groups.
    return rstrip(text)
      .split('\\')
      .map((v) => {
        const groups = v.split('=');
        while (groups.length > 0 && groups[groups.length - 1] === '') groups.pop();
        return groups.join('=');
      })
      .join('\\');
  }
  return text.split('\\').map(rstrip).join('\\'); // convert_text: each value right-stripped
}

/**
 * Elements where pydicom 2.3 is wrong and decodeText right. Each entry turns pydicom's value into the correct one.
 */
const PYDICOM_ERRATA: { when: (e: OracleElement) => boolean; why: string; fix: (v: string) => string }[] = [
  {
    // pydicom lists iso_ir_58 among the encodings "handled by Python" (which would consume the escape sequence), but
    // Python's gb2312 codec does not know ISO 2022 escape sequences: 'ESC $ ) A' stays in the text. PS3.5 K.2
    // (Zhang^XiaoDong=ESC$)A张^ESC$)A小东=) shows it designates GB 2312 to G1 and is not text. (Fixed in pydicom 2.4.)
    when: (e) => /ISO 2022 IR 58/.test(e.specificCharacterSet) && e.pydicomValue.includes('\x1b$)A'),
    why: 'pydicom 2.3 leaves ESC $ ) A (ISO 2022 IR 58) in the decoded text',
    fix: (v) => v.replaceAll('\x1b$)A', ''),
  },
];

/**
 * Elements whose bytes decodeText does not reproduce byte for byte, because the original used an escape sequence
 * the standard does not need; the text round trip holds and the re-encoded bytes are the canonical form.
 */
const REDUNDANT_ESCAPES: {
  when: (e: OracleElement, latin1: string) => boolean;
  why: string;
  canonical: (latin1: string) => string;
}[] = [
  {
    // '\ISO 2022 IR 149': KS X 1001 is in G1, G0 stays ASCII, so the trailing ESC ( B designates what is already
    // designated. PS3.5 Annex I (Hong^Gildong=ESC$)C洪^ESC$)C吉洞=...) has no ESC ( B.
    when: (e, latin1) => /ISO 2022 IR 149/.test(e.specificCharacterSet) && latin1.includes('\x1b(B'),
    why: 'ESC ( B after KS X 1001 (a G1 set) is redundant',
    canonical: (s) => s.replaceAll('\x1b(B', ''),
  },
  {
    // 'ISO 2022 IR 13\ISO 2022 IR 87': value 1 puts ISO-IR 14 (JIS X 0201 Roman) in G0, so PS3.5 6.1.2.5.3 asks for
    // ESC ( J before delimiters and at the end, as in PS3.5 H.3.2 and chrH32.dcm; these items use ESC ( B (ASCII),
    // which reads the same (DICOM reads ISO-IR 14 as ASCII).
    when: (e, latin1) => /^ISO 2022 IR 13\\/.test(e.specificCharacterSet) && latin1.includes('\x1b(B'),
    why: 'ESC ( B instead of value 1 G0 set ISO-IR 14 (ESC ( J)',
    canonical: (s) => s.replaceAll('\x1b(B', '\x1b(J'),
  },
];

describe('decodeText agrees with pydicom on every text element of the charset test files', () => {
  it('runs the oracle', () => {
    const out = oracle();
    assert.ok(out.files.length >= 19, `oracle saw ${out.files.length} files`);
    const terms = new Set(out.files.map((f) => f.specificCharacterSet.trim()));
    for (const t of ['\\ISO 2022 IR 87', 'ISO 2022 IR 13\\ISO 2022 IR 87', '\\ISO 2022 IR 149', '\\ISO 2022 IR 58']) {
      assert.ok(terms.has(t), `no file with ${t}`);
    }
  });

  it('decodes each element as pydicom does (errata documented)', (t) => {
    const out = oracle();
    let compared = 0;
    let errata = 0;
    const failures: string[] = [];
    for (const e of out.elements) {
      const cs = parseSpecificCharacterSet(e.specificCharacterSet);
      const mine = asPydicomPresents(decodeText(fromHex(e.rawBytesHex), cs, e.vr), e.vr);
      let expected = e.pydicomValue;
      const erratum = PYDICOM_ERRATA.find((x) => x.when(e));
      if (erratum) {
        expected = erratum.fix(expected);
        errata++;
      }
      compared++;
      if (mine !== expected) {
        failures.push(
          `${e.file} ${e.path} ${e.vr} [${e.specificCharacterSet}]: ${JSON.stringify(mine)} !== ${JSON.stringify(expected)}`,
        );
      }
    }
    assert.deepEqual(failures.slice(0, 20), [], `${failures.length} of ${compared} differ`);
    assert.ok(compared > 100, `only ${compared} elements compared`);
    assert.ok(errata <= 2, `errata applied to ${errata} elements`);
    t.diagnostic(`${compared} elements of ${out.files.length} files compared with pydicom ${out.pydicomVersion}`);
    t.diagnostic(`${errata} elements where pydicom is wrong (PYDICOM_ERRATA)`);
  });

  it('re-encodes each element to its original bytes (redundant escapes documented)', (t) => {
    const out = oracle();
    const failures: string[] = [];
    let exact = 0;
    let canonicalized = 0;
    for (const e of out.elements) {
      const cs = parseSpecificCharacterSet(e.specificCharacterSet);
      const raw = fromHex(e.rawBytesHex);
      const text = decodeText(raw, cs, e.vr);
      const encoded = encodeText(text, cs, e.vr);
      const latin1 = String.fromCharCode(...raw);
      const redundant = REDUNDANT_ESCAPES.find((x) => x.when(e, latin1));
      const expected = redundant ? bytesOf(redundant.canonical(latin1)) : raw;
      if (redundant) {
        canonicalized++;
        assert.equal(decodeText(encoded, cs, e.vr), text, `${e.file} ${e.path}: ${redundant.why}`);
      } else {
        exact++;
      }
      if (hex(encoded) !== hex(expected)) failures.push(`${e.file} ${e.path}: ${show(encoded)} !== ${show(expected)}`);
    }
    assert.deepEqual(failures.slice(0, 20), [], `${failures.length} differ`);
    assert.ok(exact > 100);
    assert.ok(canonicalized <= 6, `${canonicalized} elements needed a canonical form`);
    t.diagnostic(
      `${exact} elements re-encoded byte for byte, ${canonicalized} to the canonical form (REDUNDANT_ESCAPES)`,
    );
  });
});

// ---------------------------------------------------------------------------------------------------------------------
// 2. PS3.5 Annexes H, I, J, K

interface AnnexExample {
  annex: string;
  scs: string;
  vr: string;
  text: string;
  /** The bytes the standard gives, as a Latin-1 string. */
  bytes: string;
  /** pydicom 2.3's encoder agrees (false where it is known to be wrong). */
  pydicomAgrees: boolean;
}

const ANNEX_EXAMPLES: AnnexExample[] = [
  {
    annex: 'H.3.1 Japanese, JIS X 0208 with code extensions',
    scs: '\\ISO 2022 IR 87',
    vr: 'PN',
    text: 'Yamada^Tarou=山田^太郎=やまだ^たろう',
    bytes: 'Yamada^Tarou=\x1b$B;3ED\x1b(B^\x1b$BB@O:\x1b(B=\x1b$B$d$^$@\x1b(B^\x1b$B$?$m$&\x1b(B',
    pydicomAgrees: true,
  },
  {
    annex: 'H.3.2 Japanese, JIS X 0201 and JIS X 0208 with code extensions',
    scs: 'ISO 2022 IR 13\\ISO 2022 IR 87',
    vr: 'PN',
    text: 'ﾔﾏﾀﾞ^ﾀﾛｳ=山田^太郎=やまだ^たろう',
    bytes: '\xd4\xcf\xc0\xde^\xc0\xdb\xb3=\x1b$B;3ED\x1b(J^\x1b$BB@O:\x1b(J=\x1b$B$d$^$@\x1b(J^\x1b$B$?$m$&\x1b(J',
    pydicomAgrees: true,
  },
  {
    annex: 'I.2 Korean, KS X 1001 with code extensions',
    scs: '\\ISO 2022 IR 149',
    vr: 'PN',
    text: 'Hong^Gildong=洪^吉洞=홍^길동',
    bytes: 'Hong^Gildong=\x1b$)C\xfb\xf3^\x1b$)C\xd1\xce\xd4\xd7=\x1b$)C\xc8\xab^\x1b$)C\xb1\xe6\xb5\xbf',
    pydicomAgrees: true,
  },
  {
    annex: 'J Chinese, UTF-8',
    scs: 'ISO_IR 192',
    vr: 'PN',
    text: 'Wang^XiaoDong=王^小東=',
    bytes: 'Wang^XiaoDong=\xe7\x8e\x8b^\xe5\xb0\x8f\xe6\x9d\xb1=',
    pydicomAgrees: true,
  },
  {
    annex: 'K.1 Chinese, GB18030',
    scs: 'GB18030',
    vr: 'PN',
    text: 'Wang^XiaoDong=王^小东=',
    bytes: 'Wang^XiaoDong=\xcd\xf5^\xd0\xa1\xb6\xab=',
    pydicomAgrees: true,
  },
  {
    annex: 'K.1 variant: traditional 東 in GB18030',
    scs: 'GB18030',
    vr: 'PN',
    text: 'Wang^XiaoDong=王^小東=',
    bytes: 'Wang^XiaoDong=\xcd\xf5^\xd0\xa1\x96\x7c=',
    pydicomAgrees: true,
  },
  {
    // pydicom 2.3 writes GB 2312 without its escape sequence (it treats iso_ir_58 as escape-aware; it is not).
    annex: 'K.2 Chinese, GB 2312 with code extensions',
    scs: '\\ISO 2022 IR 58',
    vr: 'PN',
    text: 'Zhang^XiaoDong=张^小东=',
    bytes: 'Zhang^XiaoDong=\x1b$)A\xd5\xc5^\x1b$)A\xd0\xa1\xb6\xab=',
    pydicomAgrees: false,
  },
  {
    // Text VRs: the escape sequence is repeated after CR LF (PS3.5 6.1.2.5.3), as in the Annex K multi-line example.
    annex: 'K.2 style text, GB 2312 with code extensions, two lines',
    scs: '\\ISO 2022 IR 58',
    vr: 'LT',
    text: '第一行文字。\r\n第二行文字。',
    bytes:
      '\x1b$)A\xb5\xda\xd2\xbb\xd0\xd0\xce\xc4\xd7\xd6\xa1\xa3\r\n\x1b$)A\xb5\xda\xb6\xfe\xd0\xd0\xce\xc4\xd7\xd6\xa1\xa3',
    pydicomAgrees: false,
  },
];

describe('PS3.5 Annex H/I/J/K examples', () => {
  for (const ex of ANNEX_EXAMPLES) {
    it(`${ex.annex}: encodes to the standard's bytes and back`, () => {
      const cs = parseSpecificCharacterSet(ex.scs);
      const expected = bytesOf(ex.bytes);
      const encoded = encodeText(ex.text, cs, ex.vr);
      assert.equal(show(encoded), show(expected));
      assert.equal(decodeText(expected, cs, ex.vr), ex.text);
    });
  }

  it('pydicom 2.3 encodes the same bytes where it is right', () => {
    requirePydicom();
    const script = `
import json, sys
from pydicom.charset import encode_string, convert_encodings
from pydicom.valuerep import _encode_personname
out = []
for ex in json.load(sys.stdin):
    encs = convert_encodings(ex['scs'].split('\\\\'))
    if ex['vr'] == 'PN':
        # PersonName.encode drops empty trailing groups; the Annex examples keep the '='.
        groups = ex['text'].split('=')
        b = _encode_personname(groups, encs) + b'=' * (len(groups) - len(ex['text'].rstrip('=').split('=')))
    else:
        b = encode_string(ex['text'], encs)
    out.append(b.hex())
print(json.dumps(out))
`;
    const results = JSON.parse(python(['-c', script], JSON.stringify(ANNEX_EXAMPLES))) as string[];
    ANNEX_EXAMPLES.forEach((ex, i) => {
      const agrees = results[i] === hex(bytesOf(ex.bytes));
      assert.equal(agrees, ex.pydicomAgrees, `${ex.annex}: pydicom gave ${show(fromHex(results[i]!))}`);
    });
  });

  it('the fo-dicom sample files hold the Annex examples', () => {
    const out = oracle();
    const pn = (file: string): string | undefined =>
      out.elements.find((e) => e.file.endsWith(`/${file}`) && e.tag === '00100010')?.rawBytesHex;
    assert.equal(pn('chrH31.dcm'), hex(bytesOf(ANNEX_EXAMPLES[0]!.bytes)));
    assert.equal(pn('chrH32.dcm'), hex(bytesOf(ANNEX_EXAMPLES[1]!.bytes)));
    assert.equal(pn('chrI2.dcm'), hex(bytesOf(ANNEX_EXAMPLES[2]!.bytes)));
    assert.equal(pn('chrX2.dcm'), hex(bytesOf(ANNEX_EXAMPLES[4]!.bytes)));
    assert.equal(pn('chrGB2312.dcm'), hex(bytesOf(`${ANNEX_EXAMPLES[6]!.bytes} `)));
  });
});

// ---------------------------------------------------------------------------------------------------------------------
// 3. Tables against Python's codecs

describe('character tables match Python codecs', () => {
  const SINGLE: [GraphicSet, string][] = [
    [ISO_IR_100, 'latin_1'],
    [ISO_IR_101, 'iso8859_2'],
    [ISO_IR_109, 'iso8859_3'],
    [ISO_IR_110, 'iso8859_4'],
    [ISO_IR_144, 'iso8859_5'],
    [ISO_IR_127, 'iso8859_6'],
    [ISO_IR_126, 'iso8859_7'],
    [ISO_IR_138, 'iso8859_8'],
    [ISO_IR_148, 'iso8859_9'],
    [ISO_IR_166, 'iso8859_11'],
    [ISO_IR_203, 'iso8859_15'],
  ];

  it('ISO 8859 right halves', () => {
    requirePydicom();
    const script = `
import json, sys
out = {}
for codec in sys.argv[1:]:
    row = []
    for b in range(0xa0, 0x100):
        try: row.append(ord(bytes([b]).decode(codec)))
        except UnicodeDecodeError: row.append(0xfffd)
    out[codec] = row
print(json.dumps(out))
`;
    const py = JSON.parse(python(['-c', script, ...SINGLE.map(([, c]) => c)])) as Record<string, number[]>;
    for (const [set, codec] of SINGLE) {
      const mine = Array.from(set.gr!, (c) => c.charCodeAt(0));
      assert.deepEqual(mine, py[codec], `${set.name} vs ${codec}`);
    }
  });

  const DOUBLE: [DoubleByteSetId, string][] = [
    ['jisx0208', "(b'\\x1b$B' + bytes([r, c]) + b'\\x1b(B').decode('iso2022_jp')"],
    ['jisx0212', "(b'\\x1b$(D' + bytes([r, c]) + b'\\x1b(B').decode('iso2022_jp_2')"],
    ['ksx1001', "bytes([r | 0x80, c | 0x80]).decode('euc_kr')"],
    ['gb2312', "bytes([r | 0x80, c | 0x80]).decode('gb2312')"],
  ];
  for (const [id, expr] of DOUBLE) {
    it(`${id}: every cell`, () => {
      requirePydicom();
      const script = `
import json
out = []
for r in range(0x21, 0x7f):
    for c in range(0x21, 0x7f):
        try:
            s = ${expr}
            out.append(ord(s) if len(s) == 1 else 0)
        except Exception:
            out.append(0)
print(json.dumps(out))
`;
      const py = JSON.parse(python(['-c', script])) as number[];
      const mine = doubleByteSet(id).decode;
      const deviations = DELIBERATE_DEVIATIONS[id];
      const diffs: string[] = [];
      let defined = 0;
      for (let i = 0; i < py.length; i++) {
        const cell = ((Math.floor(i / 94) + 0x21) << 8) | ((i % 94) + 0x21);
        if (mine[i]) defined++;
        if (mine[i] !== py[i] && !deviations.includes(cell)) {
          diffs.push(`${cell.toString(16)}: ${mine[i]!.toString(16)} vs ${py[i]!.toString(16)}`);
        }
      }
      assert.deepEqual(diffs, []);
      assert.ok(defined > 6000, `${id}: only ${defined} cells defined (TextDecoder missing?)`);
    });
  }
});

// ---------------------------------------------------------------------------------------------------------------------
// 4. Behaviour

describe('parseSpecificCharacterSet', () => {
  it('reads terms with padding, empty value 1 and absence', () => {
    assert.deepEqual(parseSpecificCharacterSet(undefined).terms, []);
    assert.deepEqual(parseSpecificCharacterSet('').terms, []);
    assert.deepEqual(parseSpecificCharacterSet('  ').terms, []);
    assert.deepEqual(parseSpecificCharacterSet('ISO_IR 100 ').terms, ['ISO_IR 100']);
    assert.deepEqual(parseSpecificCharacterSet('\\ISO 2022 IR 87 ').terms, ['', 'ISO 2022 IR 87']);
    assert.deepEqual(parseSpecificCharacterSet('ISO 2022 IR 13\\ISO 2022 IR 87\0').terms, [
      'ISO 2022 IR 13',
      'ISO 2022 IR 87',
    ]);
  });

  it('says which sets are ASCII or UTF-8', () => {
    assert.equal(parseSpecificCharacterSet(undefined).isUtf8OrAscii, true);
    assert.equal(parseSpecificCharacterSet('ISO_IR 6').isUtf8OrAscii, true);
    assert.equal(parseSpecificCharacterSet('ISO_IR 192').isUtf8OrAscii, true);
    assert.equal(parseSpecificCharacterSet('ISO_IR 100').isUtf8OrAscii, false);
    assert.equal(parseSpecificCharacterSet('\\ISO 2022 IR 87').isUtf8OrAscii, false);
    assert.equal(parseSpecificCharacterSet('GB18030').isUtf8OrAscii, false);
  });

  it('is lenient: misspellings understood, unknown terms listed and ignored', () => {
    const cs = parseSpecificCharacterSet('ISO-IR 144');
    assert.deepEqual(cs.unknownTerms, []);
    assert.equal(decodeText(Uint8Array.of(0xbb), cs, 'LO'), 'Л');
    assert.equal(decodeText(Uint8Array.of(0xbb), parseSpecificCharacterSet('ISO_IR_144'), 'LO'), 'Л');
    const unknown = parseSpecificCharacterSet('KLINGON');
    assert.deepEqual(unknown.unknownTerms, ['KLINGON']);
    assert.equal(decodeText(bytesOf('Abc\xe9'), unknown, 'LO'), 'Abcé'); // default repertoire, read as pydicom does
    const later = parseSpecificCharacterSet('ISO_IR 100\\ISO_IR 192');
    assert.deepEqual(later.unknownTerms, ['ISO_IR 192']);
    const standAlone = parseSpecificCharacterSet('ISO_IR 192\\ISO 2022 IR 87');
    assert.deepEqual(standAlone.unknownTerms, ['ISO 2022 IR 87']);
    assert.equal(decodeText(bytesOf('\xc3\xa9'), standAlone, 'LO'), 'é');
  });

  it('works with a CharacterSet built by hand', () => {
    const cs: CharacterSet = { terms: ['', 'ISO 2022 IR 149'], isUtf8OrAscii: false };
    assert.equal(decodeText(bytesOf(ANNEX_EXAMPLES[2]!.bytes), cs, 'PN'), ANNEX_EXAMPLES[2]!.text);
  });
});

const ALL_CHARSETS = [
  '',
  'ISO_IR 6',
  'ISO_IR 100',
  'ISO_IR 101',
  'ISO_IR 109',
  'ISO_IR 110',
  'ISO_IR 126',
  'ISO_IR 127',
  'ISO_IR 138',
  'ISO_IR 144',
  'ISO_IR 148',
  'ISO_IR 166',
  'ISO_IR 203',
  'ISO_IR 13',
  'ISO_IR 192',
  'GB18030',
  'GBK',
  'ISO 2022 IR 6',
  'ISO 2022 IR 100',
  'ISO 2022 IR 13',
  '\\ISO 2022 IR 87',
  'ISO 2022 IR 13\\ISO 2022 IR 87',
  '\\ISO 2022 IR 87\\ISO 2022 IR 159',
  '\\ISO 2022 IR 149',
  '\\ISO 2022 IR 58',
  'ISO 2022 IR 100\\ISO 2022 IR 126\\ISO 2022 IR 144',
];

describe('decodeText and encodeText', () => {
  const asciiText = 'Doe^John=Q \\ 1.2~[x]{y}|`@#$%&*()_+-\r\n\t\f end';

  it('ASCII text is the same bytes in every character set, both ways', () => {
    const bytes = bytesOf(asciiText);
    assert.equal(isAsciiBytes(bytes), true);
    for (const scs of ALL_CHARSETS) {
      const cs = parseSpecificCharacterSet(scs);
      for (const vr of ['PN', 'LO', 'SH', 'LT', 'ST', 'UT', 'UC', 'CS']) {
        assert.equal(hex(encodeText(asciiText, cs, vr)), hex(bytes), `${scs} ${vr}`);
        assert.equal(decodeText(bytes, cs, vr), asciiText, `${scs} ${vr}`);
      }
    }
  });

  it('isAsciiBytes', () => {
    assert.equal(isAsciiBytes(new Uint8Array(0)), true);
    assert.equal(isAsciiBytes(bytesOf('abc\x7f')), true);
    assert.equal(isAsciiBytes(bytesOf('ab\x80')), false);
    // Long values are scanned a word at a time: every offset and alignment of the one odd byte.
    const buffer = new Uint8Array(300).fill(0x41);
    for (const start of [0, 1, 2, 3]) {
      for (const at of [0, 1, 5, 63, 64, 65, 70, 150, 199]) {
        const view = buffer.subarray(start, start + 200);
        assert.equal(isAsciiBytes(view), true);
        view[at] = 0xe9;
        assert.equal(isAsciiBytes(view), false, `${start} ${at}`);
        const cs = parseSpecificCharacterSet('ISO_IR 100');
        assert.equal(decodeText(view, cs, 'LT'), `${'A'.repeat(at)}é${'A'.repeat(199 - at)}`);
        view[at] = 0x1b; // ESC: plain ASCII, but an escape sequence where code extensions are in use
        assert.equal(isAsciiBytes(view), true);
        assert.equal(decodeText(view, cs, 'LT'), `${'A'.repeat(at)}\x1b${'A'.repeat(199 - at)}`);
        const jis = parseSpecificCharacterSet('\\ISO 2022 IR 87');
        assert.equal(decodeText(view, jis, 'LT'), `${'A'.repeat(at)}\ufffd${'A'.repeat(199 - at)}`);
        view[at] = 0x41;
      }
    }
  });

  it('throws CHARSET_UNENCODABLE, without the text in the message', () => {
    const cases: [string, string][] = [
      ['', 'é'],
      ['ISO_IR 100', 'Ж'],
      ['\\ISO 2022 IR 87', '홍'],
      ['\\ISO 2022 IR 149', 'ﾔ'],
      ['GBK', '😀'],
      ['ISO_IR 192', '\ud800'],
      ['GB18030', 'x\udc00'],
      ['\\ISO 2022 IR 87', 'a\x1bb'], // ESC cannot be written where escape sequences are interpreted
    ];
    for (const [scs, text] of cases) {
      assert.throws(
        () => encodeText(`Secret${text}`, parseSpecificCharacterSet(scs), 'PN'),
        (e: unknown) =>
          e instanceof VeilError &&
          e.code === 'CHARSET_UNENCODABLE' &&
          e.path === 'PN' &&
          !e.message.includes('Secret'),
        `${scs} ${JSON.stringify(text)}`,
      );
    }
    // Other VRs are in the default repertoire whatever (0008,0005) says.
    assert.throws(() => encodeText('é', parseSpecificCharacterSet('ISO_IR 100'), 'CS'), VeilError);
    assert.equal(decodeText(bytesOf('\xe9'), parseSpecificCharacterSet('ISO_IR 144'), 'CS'), 'é');
  });

  it('never throws on arbitrary bytes, and invalid bytes decode to U+FFFD', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 64 }),
        fc.constantFrom(...ALL_CHARSETS),
        fc.constantFrom('PN', 'LO', 'LT'),
        (bytes, scs, vr) => {
          decodeText(bytes, parseSpecificCharacterSet(scs), vr);
        },
      ),
      { numRuns: 3000 },
    );
    const jis = parseSpecificCharacterSet('\\ISO 2022 IR 87');
    assert.equal(decodeText(bytesOf('\x1b$B;'), jis, 'PN'), '\ufffd'); // half a character
    assert.equal(decodeText(bytesOf('\x1b$B\x2d\x21\x1b(B'), jis, 'PN'), '\ufffd'); // NEC row 13 is not JIS X 0208
    assert.equal(decodeText(bytesOf('a\x1b%Gb'), jis, 'PN'), 'a\ufffd%Gb'); // unknown escape sequence
    assert.equal(decodeText(bytesOf('\xa1\xdf\xa0'), parseSpecificCharacterSet('ISO_IR 13'), 'LO'), '｡ﾟ\ufffd');
    assert.equal(decodeText(bytesOf('\xe0'), parseSpecificCharacterSet('ISO_IR 13'), 'LO'), '\ufffd');
    assert.equal(decodeText(bytesOf('\xa5'), parseSpecificCharacterSet('ISO_IR 109'), 'LO'), '\ufffd');
    assert.equal(decodeText(bytesOf('a\xffb'), parseSpecificCharacterSet('ISO_IR 192'), 'LO'), 'a\ufffdb');
  });

  it('resets the ISO 2022 state at delimiters, but not inside double-byte characters', () => {
    const jis = parseSpecificCharacterSet('\\ISO 2022 IR 87');
    // 'ま' is 24 5E: the 5E is not a '^' delimiter while JIS X 0208 is in G0.
    assert.equal(decodeText(bytesOf('\x1b$B$^\x1b(B'), jis, 'PN'), 'ま');
    // Without ESC ( B, a delimiter in single-byte state still resets G1 (Korean) for the next component.
    const ko = parseSpecificCharacterSet('\\ISO 2022 IR 149');
    assert.equal(decodeText(bytesOf('\x1b$)C\xb1\xe8^\xb1\xe8'), ko, 'PN'), '김^±è');
    assert.equal(decodeText(bytesOf('\x1b$)C\xb1\xe8\\\xb1\xe8'), ko, 'LO'), '김\\±è');
    assert.equal(decodeText(bytesOf('\x1b$)C\xb1\xe8\\\xb1\xe8'), ko, 'LT'), '김\\김'); // no value delimiter in LT
    assert.equal(decodeText(bytesOf('\x1b$)C\xb1\xe8\r\n\xb1\xe8'), ko, 'LT'), '김\r\n±è');
    assert.equal(decodeText(bytesOf('\x1b$)C\xb1\xe8^\xb1\xe8'), ko, 'LO'), '김^김'); // '^' is text in LO
    // Single-byte terms without code extensions: ESC is just a character.
    assert.equal(decodeText(bytesOf('a\x1b-Lb'), parseSpecificCharacterSet('ISO_IR 100'), 'LO'), 'a\x1b-Lb');
    // 'ISO 2022 IR 149' as value 1 (leading backslash forgotten): KS X 1001 is in G1 from the start.
    assert.equal(decodeText(bytesOf('\xb1\xe8'), parseSpecificCharacterSet('ISO 2022 IR 149'), 'PN'), '김');
  });

  it('encodes with escape sequences only where needed and returns to the initial state', () => {
    const greek = parseSpecificCharacterSet('ISO 2022 IR 100\\ISO 2022 IR 126');
    assert.equal(show(encodeText('Zoë^Δήμος é', greek, 'PN')), 'Zo\\xeb^<ESC>-F\\xc4\\xde\\xec\\xef\\xf2 <ESC>-A\\xe9');
    assert.equal(show(encodeText('Δ', greek, 'PN')), '<ESC>-F\\xc4<ESC>-A');
    const jis = parseSpecificCharacterSet('\\ISO 2022 IR 87');
    assert.equal(show(encodeText('山田 太郎', jis, 'LO')), '<ESC>$B;3ED<ESC>(B <ESC>$BB@O:<ESC>(B');
    assert.equal(show(encodeText('山田太郎', jis, 'LO')), '<ESC>$B;3EDB@O:<ESC>(B');
    const kana = parseSpecificCharacterSet('\\ISO 2022 IR 87\\ISO 2022 IR 13');
    assert.equal(show(encodeText('ﾔ山', kana, 'LO')), '<ESC>)I\\xd4<ESC>$B;3<ESC>(B');
  });
});

// ---------------------------------------------------------------------------------------------------------------------
// 5. Round-trip properties over each character set's repertoire

const SPECIALS = ['^', '=', '\\', ' ', 'a', 'Z', '0', '\r', '\n', '\t'];
const chars = (sets: GraphicSet[]): string[] => [...SPECIALS, ...sets.flatMap((s) => repertoireOf(s))];

const PROPERTY_SETS: [string, string[]][] = [
  ['', SPECIALS],
  ['ISO_IR 100', chars([ISO_IR_100])],
  ['ISO_IR 101', chars([ISO_IR_101])],
  ['ISO_IR 109', chars([ISO_IR_109])],
  ['ISO_IR 110', chars([ISO_IR_110])],
  ['ISO_IR 126', chars([ISO_IR_126])],
  ['ISO_IR 127', chars([ISO_IR_127])],
  ['ISO_IR 138', chars([ISO_IR_138])],
  ['ISO_IR 144', chars([ISO_IR_144])],
  ['ISO_IR 148', chars([ISO_IR_148])],
  ['ISO_IR 166', chars([ISO_IR_166])],
  ['ISO_IR 203', chars([ISO_IR_203])],
  ['ISO_IR 13', chars([ISO_IR_13])],
  ['\\ISO 2022 IR 87', chars([ISO_IR_87])],
  ['ISO 2022 IR 13\\ISO 2022 IR 87', chars([ISO_IR_13, ISO_IR_87])],
  ['\\ISO 2022 IR 87\\ISO 2022 IR 159', chars([ISO_IR_87, ISO_IR_159])],
  ['\\ISO 2022 IR 149', chars([ISO_IR_149])],
  ['\\ISO 2022 IR 58', chars([ISO_IR_58])],
  [
    'ISO 2022 IR 100\\ISO 2022 IR 126\\ISO 2022 IR 144\\ISO 2022 IR 87',
    chars([ISO_IR_100, ISO_IR_126, ISO_IR_144, ISO_IR_87]),
  ],
];

describe('decode(encode(s)) === s', () => {
  for (const [scs, alphabet] of PROPERTY_SETS) {
    it(`random strings over [${scs}]`, () => {
      const cs = parseSpecificCharacterSet(scs);
      fc.assert(
        fc.property(
          fc.string({ unit: fc.constantFrom(...alphabet), maxLength: 40 }),
          fc.constantFrom('PN', 'LO', 'LT', 'UT'),
          (s, vr) => {
            const bytes = encodeText(s, cs, vr);
            assert.equal(decodeText(bytes, cs, vr), s);
            assert.deepEqual(encodeText(decodeText(bytes, cs, vr), cs, vr), bytes);
          },
        ),
        { numRuns: 500 },
      );
    });
  }

  it('every single character of every set, alone', () => {
    for (const [scs, alphabet] of PROPERTY_SETS) {
      const cs = parseSpecificCharacterSet(scs);
      for (const c of alphabet)
        assert.equal(decodeText(encodeText(c, cs, 'LO'), cs, 'LO'), c, `${scs} U+${c.charCodeAt(0).toString(16)}`);
    }
  });

  /**
   * Private-use code points that GB18030-2005 mapped to two-byte codes which GB18030-2022 (and ICU, WHATWG) give to
   * standard characters (U+FE10..., U+9FB4...), and U+E5E5 (A3A0, which WHATWG/ICU decode as U+3000): these have no
   * byte sequence in the platform's GB18030 and encodeText refuses them.
   */
  const GB18030_UNENCODABLE = /[\ue5e5\ue78d-\ue796\ue81e\ue826\ue82b\ue82c\ue832\ue843\ue854\ue864]/;

  it('random Unicode strings in ISO_IR 192 and GB18030', () => {
    for (const scs of ['ISO_IR 192', 'GB18030']) {
      const cs = parseSpecificCharacterSet(scs);
      fc.assert(
        fc.property(
          fc.string({ unit: 'grapheme', maxLength: 30 }).filter((s) => !GB18030_UNENCODABLE.test(s)),
          fc.constantFrom('PN', 'LT'),
          (s, vr) => {
            assert.equal(decodeText(encodeText(s, cs, vr), cs, vr), s);
          },
        ),
        { numRuns: 2000 },
      );
    }
  });

  it('GB18030 and GBK: every BMP code point that encodes decodes back', () => {
    const gb = parseSpecificCharacterSet('GB18030');
    const gbk = parseSpecificCharacterSet('GBK');
    const gbFailures: number[] = [];
    let gbkCount = 0;
    for (let cp = 0x80; cp <= 0xffff; cp++) {
      if (cp >= 0xd800 && cp <= 0xdfff) continue;
      const s = String.fromCharCode(cp);
      try {
        if (decodeText(encodeText(s, gb, 'LO'), gb, 'LO') !== s) gbFailures.push(cp);
      } catch {
        if (!GB18030_UNENCODABLE.test(s)) gbFailures.push(cp);
      }
      try {
        const b = encodeText(s, gbk, 'LO');
        assert.equal(b.length, cp === 0x20ac ? 1 : 2); // GBK's euro sign is the single byte 80
        assert.equal(decodeText(b, gbk, 'LO'), s);
        gbkCount++;
      } catch (e) {
        if (!(e instanceof VeilError)) throw e;
      }
    }
    assert.deepEqual(
      gbFailures.map((c) => c.toString(16)),
      [],
    );
    assert.ok(gbkCount > 21000, `GBK encodes ${gbkCount} characters`);
    const astral = '\u{20000}\u{1F600}';
    assert.equal(decodeText(encodeText(astral, gb, 'LO'), gb, 'LO'), astral);
  });

  it('plans: value 1 sets the initial state', () => {
    const plan = planFor(['ISO 2022 IR 13', 'ISO 2022 IR 87']);
    assert.equal(plan.g1, ISO_IR_13);
    assert.equal(plan.escapes, true);
    assert.equal(planFor(['ISO_IR 100']).escapes, false);
    assert.equal(DEFAULT_CHARACTER_SET.terms.length, 0);
  });
});
