/**
 * Keyed pseudonyms: HMAC against RFC 4231, UID remapping (format, well-known roots, consistency), patient and
 * accession pseudonyms, and date shifting (never 0, within range, intervals preserved, partial dates, ranges),
 * HIPAA ages.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  base32,
  capAge,
  civilFromDays,
  dateShiftDays,
  daysFromCivil,
  hashText,
  hmacSha256,
  isWellKnownUID,
  patientKey,
  pseudoAccession,
  pseudoPatientId,
  pseudoPatientName,
  remapUID,
  remapUIDs,
  transformDate,
} from '../src/index.ts';

const KEY = new Uint8Array(32).fill(0x42);
const KEY2 = new Uint8Array(32).fill(0x43);
const hex = (b: Uint8Array) => [...b].map((x) => x.toString(16).padStart(2, '0')).join('');

describe('HMAC-SHA-256', () => {
  test('RFC 4231 test case 2', () => {
    const mac = hmacSha256(new TextEncoder().encode('Jefe'), 'what do ya want for nothing?');
    assert.equal(hex(mac), '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843');
  });

  test('the per-key cache does not leak state between messages', () => {
    const a = hmacSha256(KEY, 'x');
    hmacSha256(KEY, 'y');
    assert.deepEqual(hmacSha256(KEY, 'x'), a);
  });

  test('base32 uses the Crockford alphabet', () => {
    assert.equal(base32(new Uint8Array([0, 0, 0, 0, 0]), 8), '00000000');
    assert.equal(base32(new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff]), 8), 'ZZZZZZZZ');
    assert.match(base32(hmacSha256(KEY, 'z'), 40), /^[0-9A-HJKMNP-TV-Z]{40}$/);
  });
});

describe('UID remapping', () => {
  test('a UUID-derived UID of at most 64 characters, version 8', () => {
    fc.assert(
      fc.property(fc.array(fc.nat(99999), { minLength: 2, maxLength: 12 }), (parts) => {
        const uid = `1.${parts.join('.')}`;
        const out = remapUID(uid, KEY);
        assert.match(out, /^2\.25\.[1-9]\d*$/);
        assert.ok(out.length <= 44);
        const n = BigInt(out.slice(5));
        assert.equal((n >> 76n) & 0xfn, 8n, 'version');
        assert.equal((n >> 62n) & 0x3n, 2n, 'variant');
        assert.equal(remapUID(uid, KEY), out, 'deterministic');
        assert.notEqual(remapUID(uid, KEY2), out, 'keyed');
      }),
    );
  });

  test('padding is ignored, empty stays empty, well-known UIDs never change', () => {
    assert.equal(remapUID('1.2.3\0', KEY), remapUID('1.2.3', KEY));
    assert.equal(remapUID(' 1.2.3 ', KEY), remapUID('1.2.3', KEY));
    assert.equal(remapUID('', KEY), '');
    for (const u of ['1.2.840.10008.1.2.1', '1.2.840.10008.5.1.4.1.1.2', '1.2.840.10008']) {
      assert.equal(remapUID(u, KEY), u);
      assert.ok(isWellKnownUID(u));
    }
    assert.ok(!isWellKnownUID('1.2.840.100081'));
    assert.equal(remapUIDs('1.2.3\\1.2.840.10008.1.2', KEY), `${remapUID('1.2.3', KEY)}\\1.2.840.10008.1.2`);
  });
});

describe('patient and accession pseudonyms', () => {
  test('keyed on Patient ID, else name and birth date, else the fallback', () => {
    assert.equal(patientKey({ patientId: ' 123 ', patientName: 'X' }), 'id:123');
    assert.equal(patientKey({ patientId: '', patientName: 'Doe^J', birthDate: '19700101' }), 'name:Doe^J|19700101');
    assert.equal(patientKey({ fallback: 'study:1.2' }), 'other:study:1.2');
    const id = pseudoPatientId('id:123', KEY);
    assert.match(id, /^P[0-9A-Z]{15}$/);
    assert.equal(pseudoPatientId('id:123', KEY), id);
    assert.notEqual(pseudoPatientId('id:124', KEY), id);
    assert.notEqual(pseudoPatientId('id:123', KEY2), id);
    assert.equal(pseudoPatientId('id:123', KEY, new Map([['123', 'S-1']]), '123'), 'S-1');
    assert.equal(pseudoPatientId('id:123', KEY, new Map([['999', 'S-1']]), '123'), id);
    assert.equal(pseudoPatientName('S-1', 'ANON^'), 'ANON^S-1');
  });

  test('accession numbers fit SH; empty stays empty; text hashes fit their VR', () => {
    assert.match(pseudoAccession('A1', KEY), /^A[0-9A-Z]{15}$/);
    assert.equal(pseudoAccession('  ', KEY), '');
    assert.equal(hashText('x', KEY, 16).length, 16);
    assert.equal(hashText('x', KEY, 64).length, 52);
  });
});

describe('date shifting', () => {
  test('the shift is never 0 and within ±max, and the same for the same patient and key', () => {
    fc.assert(
      fc.property(fc.string(), fc.integer({ min: 1, max: 3650 }), (k, max) => {
        const d = dateShiftDays(k, KEY, max);
        assert.ok(d !== 0 && Math.abs(d) <= max && Number.isInteger(d));
        assert.equal(dateShiftDays(k, KEY, max), d);
      }),
    );
    const seen = new Set<number>();
    for (let i = 0; i < 200; i++) seen.add(dateShiftDays(`id:${i}`, KEY, 3));
    assert.deepEqual([...seen].sort(), [-1, -2, -3, 1, 2, 3].sort());
  });

  test('civil calendar round trip', () => {
    fc.assert(
      fc.property(fc.integer({ min: daysFromCivil(1, 1, 1), max: daysFromCivil(9999, 12, 31) }), (n) => {
        const { y, m, d } = civilFromDays(n);
        assert.equal(daysFromCivil(y, m, d), n);
      }),
    );
    assert.equal(daysFromCivil(1970, 1, 1), 0);
    assert.equal(daysFromCivil(2000, 3, 1) - daysFromCivil(2000, 2, 28), 2, '2000 is a leap year');
  });

  test("intervals between a patient's dates are preserved exactly", () => {
    const ymd = fc
      .integer({ min: daysFromCivil(1900, 1, 1), max: daysFromCivil(2100, 12, 31) })
      .map((n) => civilFromDays(n))
      .map(({ y, m, d }) => `${y}`.padStart(4, '0') + `${m}`.padStart(2, '0') + `${d}`.padStart(2, '0'));
    const days = (s: string) => daysFromCivil(+s.slice(0, 4), +s.slice(4, 6), +s.slice(6, 8));
    fc.assert(
      fc.property(ymd, ymd, fc.integer({ min: -3650, max: 3650 }), (a, b, shift) => {
        const sa = transformDate(a, 'DA', 'shift', shift)!;
        const sb = transformDate(b, 'DA', 'shift', shift)!;
        assert.equal(days(sb) - days(sa), days(b) - days(a));
        assert.equal(days(sa) - days(a), shift);
      }),
    );
  });

  test('DA and DT forms', () => {
    assert.equal(transformDate('20130713', 'DA', 'shift', -117), '20130318');
    assert.equal(transformDate('2013.07.13', 'DA', 'shift', 1), '20130714', 'ACR-NEMA form normalized');
    assert.equal(transformDate('20131231', 'DA', 'shift', 1), '20140101');
    assert.equal(transformDate('20130713-20130720', 'DA', 'shift', 1), '20130714-20130721');
    assert.equal(transformDate('-20130720', 'DA', 'shift', 1), '-20130721');
    assert.equal(transformDate('20130713\\20130714', 'DA', 'shift', 1), '20130714\\20130715');
    assert.equal(transformDate('20130713101500.25+0200', 'DT', 'shift', 1), '20130714101500.25+0200');
    assert.equal(transformDate('20130713101500-0500', 'DT', 'shift', 1), '20130714101500-0500');
    assert.equal(transformDate('20130713-20130714', 'DT', 'shift', 1), '20130714-20130715', 'DT range');
    assert.equal(transformDate('201307', 'DT', 'shift', 30), '201308', 'partial DT keeps its precision');
    assert.equal(transformDate('2013', 'DT', 'shift', 200), '2014');
    assert.equal(transformDate('20130713', 'DA', 'year', 0), '20130101');
    assert.equal(transformDate('20130713120000', 'DT', 'year', 0), '2013');
    assert.equal(transformDate('20130713', 'DA', 'remove', 0), '');
    for (const bad of ['2013071', '20131301', '20130230', 'yesterday', '2013-07-13x']) {
      assert.equal(transformDate(bad, 'DA', 'shift', 1), undefined, bad);
    }
  });

  test('ages over 89 years become 090Y (HIPAA)', () => {
    assert.equal(capAge('090Y'), '090Y');
    assert.equal(capAge('089Y'), undefined);
    assert.equal(capAge('999M'), undefined, '83 years');
    assert.equal(capAge('100Y'), '090Y');
    assert.equal(capAge('999W'), undefined);
    assert.equal(capAge('nonsense'), undefined);
  });
});
