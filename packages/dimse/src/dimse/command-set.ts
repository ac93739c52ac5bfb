/**
 * DIMSE command sets (PS3.7 6.3, 9.3, E.1): group 0000 elements, always implicit VR little endian whatever transfer
 * syntax the presentation context carries. Encodes and decodes the fields of C-ECHO, C-STORE, C-FIND, C-MOVE,
 * C-GET (RQ and RSP) and C-CANCEL; other elements are kept undecoded so an unknown command can still be answered.
 *
 * Example:
 *   const bytes = encodeCommand({ commandField: CommandField.CEchoRq, messageId: 1,
 *     affectedSopClassUid: VERIFICATION_SOP_CLASS, hasDataset: false });
 *   const r = decodeCommand(bytes); // r.ok && r.value.commandField === 0x0030
 */

export const CommandField = {
  CStoreRq: 0x0001,
  CStoreRsp: 0x8001,
  CGetRq: 0x0010,
  CGetRsp: 0x8010,
  CFindRq: 0x0020,
  CFindRsp: 0x8020,
  CMoveRq: 0x0021,
  CMoveRsp: 0x8021,
  CEchoRq: 0x0030,
  CEchoRsp: 0x8030,
  CCancelRq: 0x0fff,
} as const;

/** Command Data Set Type (0000,0800): 0x0101 means no data set; anything else means one follows. */
export const NO_DATASET = 0x0101;
const DATASET_PRESENT = 0x0001;

export const Priority = { Medium: 0x0000, High: 0x0001, Low: 0x0002 } as const;

export interface CommandSet {
  readonly commandField: number;
  readonly messageId?: number;
  readonly messageIdBeingRespondedTo?: number;
  readonly affectedSopClassUid?: string;
  readonly requestedSopClassUid?: string;
  readonly affectedSopInstanceUid?: string;
  readonly requestedSopInstanceUid?: string;
  readonly priority?: number;
  readonly hasDataset: boolean;
  readonly status?: number;
  readonly offendingElements?: readonly number[];
  readonly errorComment?: string;
  readonly errorId?: number;
  readonly moveDestination?: string;
  readonly remainingSuboperations?: number;
  readonly completedSuboperations?: number;
  readonly failedSuboperations?: number;
  readonly warningSuboperations?: number;
  readonly moveOriginatorAeTitle?: string;
  readonly moveOriginatorMessageId?: number;
}

type Kind = 'UI' | 'US' | 'AE' | 'LO' | 'AT' | 'UL';

/** The group 0000 elements Veil reads and writes, by tag: field name and VR. */
const FIELDS: ReadonlyArray<readonly [number, keyof CommandSet | 'commandDataSetType', Kind]> = [
  [0x00000002, 'affectedSopClassUid', 'UI'],
  [0x00000003, 'requestedSopClassUid', 'UI'],
  [0x00000100, 'commandField', 'US'],
  [0x00000110, 'messageId', 'US'],
  [0x00000120, 'messageIdBeingRespondedTo', 'US'],
  [0x00000600, 'moveDestination', 'AE'],
  [0x00000700, 'priority', 'US'],
  [0x00000800, 'commandDataSetType', 'US'],
  [0x00000900, 'status', 'US'],
  [0x00000901, 'offendingElements', 'AT'],
  [0x00000902, 'errorComment', 'LO'],
  [0x00000903, 'errorId', 'US'],
  [0x00001000, 'affectedSopInstanceUid', 'UI'],
  [0x00001001, 'requestedSopInstanceUid', 'UI'],
  [0x00001020, 'remainingSuboperations', 'US'],
  [0x00001021, 'completedSuboperations', 'US'],
  [0x00001022, 'failedSuboperations', 'US'],
  [0x00001023, 'warningSuboperations', 'US'],
  [0x00001030, 'moveOriginatorAeTitle', 'AE'],
  [0x00001031, 'moveOriginatorMessageId', 'US'],
];

const BY_TAG = new Map(FIELDS.map(([tag, name, kind]) => [tag, { name, kind }]));

function text(s: string, pad: number): Uint8Array {
  const n = s.length + (s.length % 2);
  const out = new Uint8Array(n).fill(pad);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i) & 0xff;
  return out;
}

function encodeValue(kind: Kind, v: unknown): Uint8Array {
  switch (kind) {
    case 'UI':
      return text(String(v), 0x00);
    case 'AE':
    case 'LO':
      return text(String(v), 0x20);
    case 'US': {
      const b = new Uint8Array(2);
      new DataView(b.buffer).setUint16(0, Number(v), true);
      return b;
    }
    case 'UL': {
      const b = new Uint8Array(4);
      new DataView(b.buffer).setUint32(0, Number(v), true);
      return b;
    }
    case 'AT': {
      const tags = v as readonly number[];
      const b = new Uint8Array(tags.length * 4);
      const dv = new DataView(b.buffer);
      tags.forEach((t, i) => {
        dv.setUint16(i * 4, t >>> 16, true);
        dv.setUint16(i * 4 + 2, t & 0xffff, true);
      });
      return b;
    }
  }
}

/** Encodes a command set, (0000,0000) Command Group Length first, the other elements in ascending tag order. */
export function encodeCommand(cmd: CommandSet): Uint8Array {
  const elements: Uint8Array[] = [];
  let length = 0;
  for (const [tag, name, kind] of FIELDS) {
    const v = name === 'commandDataSetType' ? (cmd.hasDataset ? DATASET_PRESENT : NO_DATASET) : cmd[name];
    if (v === undefined) continue;
    const value = encodeValue(kind, v);
    const el = new Uint8Array(8 + value.length);
    const dv = new DataView(el.buffer);
    dv.setUint16(0, 0x0000, true);
    dv.setUint16(2, tag & 0xffff, true);
    dv.setUint32(4, value.length, true);
    el.set(value, 8);
    elements.push(el);
    length += el.length;
  }
  const out = new Uint8Array(12 + length);
  const dv = new DataView(out.buffer);
  dv.setUint32(4, 4, true); // (0000,0000) UL, length 4
  dv.setUint32(8, length, true);
  let o = 12;
  for (const el of elements) {
    out.set(el, o);
    o += el.length;
  }
  return out;
}

export type CommandDecoded =
  | { readonly ok: true; readonly value: CommandSet }
  | { readonly ok: false; readonly code: string };

function trimText(b: Uint8Array): string {
  let s = '';
  for (const c of b) s += String.fromCharCode(c);
  return s.replace(/[\0 ]+$/, '').replace(/^ +/, '');
}

/** Decodes a command set. Never throws: a truncated element, a wrong VR length or a missing field is an error code. */
export function decodeCommand(bytes: Uint8Array): CommandDecoded {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const fields: Record<string, unknown> = {};
  let o = 0;
  while (o < bytes.length) {
    if (o + 8 > bytes.length) return { ok: false, code: 'DIMSE_COMMAND_TRUNCATED' };
    const group = dv.getUint16(o, true);
    const element = dv.getUint16(o + 2, true);
    const length = dv.getUint32(o + 4, true);
    if (group !== 0x0000) return { ok: false, code: 'DIMSE_COMMAND_NOT_GROUP_0000' };
    if (length > bytes.length - o - 8) return { ok: false, code: 'DIMSE_COMMAND_TRUNCATED' };
    const value = bytes.subarray(o + 8, o + 8 + length);
    const field = BY_TAG.get(element);
    if (field) {
      switch (field.kind) {
        case 'US':
          if (length !== 2) return { ok: false, code: 'DIMSE_COMMAND_BAD_LENGTH' };
          fields[field.name] = dv.getUint16(o + 8, true);
          break;
        case 'UL':
          if (length !== 4) return { ok: false, code: 'DIMSE_COMMAND_BAD_LENGTH' };
          fields[field.name] = dv.getUint32(o + 8, true);
          break;
        case 'AT': {
          if (length % 4 !== 0) return { ok: false, code: 'DIMSE_COMMAND_BAD_LENGTH' };
          const tags: number[] = [];
          for (let k = 0; k < length; k += 4) {
            tags.push(((dv.getUint16(o + 8 + k, true) << 16) | dv.getUint16(o + 10 + k, true)) >>> 0);
          }
          fields[field.name] = tags;
          break;
        }
        default:
          fields[field.name] = trimText(value);
      }
    }
    o += 8 + length;
  }
  if (typeof fields.commandField !== 'number') return { ok: false, code: 'DIMSE_COMMAND_NO_COMMAND_FIELD' };
  if (typeof fields.commandDataSetType !== 'number') return { ok: false, code: 'DIMSE_COMMAND_NO_DATASET_TYPE' };
  const { commandDataSetType, ...rest } = fields;
  return {
    ok: true,
    value: { ...(rest as Omit<CommandSet, 'hasDataset'>), hasDataset: commandDataSetType !== NO_DATASET },
  };
}

export function isResponse(commandField: number): boolean {
  return (commandField & 0x8000) !== 0;
}
