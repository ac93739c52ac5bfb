/**
 * Test-side encoders: what the rewriter does not write itself (undefined-length sequences and items, a whole Part 10
 * file), built from its encodeElement / encodeItems so that the tests exercise those too.
 */
import { deflateSync } from 'fflate';
import { concat, EXPLICIT_LE, encodeElement, IMPLICIT_LE, type Syntax } from '../../src/index.ts';

export const text = (s: string): Uint8Array => new TextEncoder().encode(s);

function header(tag: number, vr: string, length: number, syntax: Syntax): Uint8Array {
  const le = syntax.littleEndian;
  const out = new Uint8Array(syntax.explicitVR ? 12 : 8);
  const dv = new DataView(out.buffer);
  dv.setUint16(0, tag >>> 16, le);
  dv.setUint16(2, tag & 0xffff, le);
  if (syntax.explicitVR) {
    out[4] = vr.charCodeAt(0);
    out[5] = vr.charCodeAt(1);
    dv.setUint32(8, length, le);
  } else {
    dv.setUint32(4, length, le);
  }
  return out;
}

function delimiter(tag: number, syntax: Syntax): Uint8Array {
  const out = new Uint8Array(8);
  const dv = new DataView(out.buffer);
  dv.setUint16(0, tag >>> 16, syntax.littleEndian);
  dv.setUint16(2, tag & 0xffff, syntax.littleEndian);
  return out;
}

/**
 * An element of undefined length around already encoded items. Its value (items and sequence delimiter) is in the
 * element's syntax, except for UN, whose value is implicit VR little endian in every syntax (PS3.5 6.2.2).
 */
export function undefinedLengthElement(tag: number, vr: string, items: Uint8Array, syntax: Syntax): Uint8Array {
  const valueSyntax = vr === 'UN' ? IMPLICIT_LE : syntax;
  return concat([header(tag, vr, 0xffffffff, syntax), items, delimiter(0xfffee0dd, valueSyntax)]);
}

/** An undefined-length item around already encoded elements. */
export function undefinedLengthItem(elements: readonly Uint8Array[], syntax: Syntax): Uint8Array {
  const head = delimiter(0xfffee000, syntax);
  head.fill(0xff, 4);
  return concat([head, ...elements, delimiter(0xfffee00d, syntax)]);
}

export const TS = {
  implicitLE: '1.2.840.10008.1.2',
  explicitLE: '1.2.840.10008.1.2.1',
  deflated: '1.2.840.10008.1.2.1.99',
  explicitBE: '1.2.840.10008.1.2.2',
} as const;

/** A Part 10 file: preamble, "DICM", file meta information with a correct group length, then the dataset. */
export function part10(dataset: Uint8Array, transferSyntaxUid: string): Uint8Array {
  const uid = (s: string): Uint8Array => text(s);
  const metaElements = concat([
    encodeElement(0x00020001, 'OB', new Uint8Array([0, 1]), EXPLICIT_LE),
    encodeElement(0x00020002, 'UI', uid('1.2.840.10008.5.1.4.1.1.7'), EXPLICIT_LE),
    encodeElement(0x00020003, 'UI', uid('1.2.3.4.5.6.7.8.9'), EXPLICIT_LE),
    encodeElement(0x00020010, 'UI', uid(transferSyntaxUid), EXPLICIT_LE),
    encodeElement(0x00020012, 'UI', uid('1.2.826.0.1.3680043.10.1234'), EXPLICIT_LE),
  ]);
  const groupLength = new Uint8Array(4);
  new DataView(groupLength.buffer).setUint32(0, metaElements.length, true);
  const preamble = new Uint8Array(132);
  preamble.set(text('DICM'), 128);
  const body = transferSyntaxUid === TS.deflated ? deflateSync(dataset) : dataset;
  return concat([preamble, encodeElement(0x00020000, 'UL', groupLength, EXPLICIT_LE), metaElements, body]);
}
