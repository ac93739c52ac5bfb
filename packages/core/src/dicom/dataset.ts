/**
 * The element tree the scanner produces: tags, VRs, offsets and lengths into the source bytes. Values are not copied;
 * read them with the functions in value.ts. Offsets are absolute in the byte source the tree was scanned from
 * (the file, or the inflated dataset of a deflated file).
 */
import type { ByteSource } from './byte-source.ts';
import type { Tag } from './tag.ts';
import type { TransferSyntax } from './transfer-syntax.ts';
import type { VR } from './vr.ts';

export interface Syntax {
  readonly explicitVR: boolean;
  readonly littleEndian: boolean;
}

export const EXPLICIT_LE: Syntax = Object.freeze({ explicitVR: true, littleEndian: true });
export const IMPLICIT_LE: Syntax = Object.freeze({ explicitVR: false, littleEndian: true });

/** A dataset or a sequence item: an ordered list of elements in one syntax. */
export interface ElementContainer {
  readonly kind: 'dataset' | 'item';
  readonly elements: DicomElement[];
  /** Offset of the first element. */
  readonly contentStart: number;
  /** Offset after the last element (before an item delimitation item, if any). */
  contentEnd: number;
  readonly syntax: Syntax;
  /** The raw (0008,0005) value in force here (an item may override its parent's). */
  characterSet: string | undefined;
  /** The bytes this container's offsets refer to. */
  readonly source: ByteSource;
}

export interface DicomDataset extends ElementContainer {
  readonly kind: 'dataset';
}

export interface DicomItem extends ElementContainer {
  readonly kind: 'item';
  /** Offset of the (FFFE,E000) tag. */
  readonly offset: number;
  /** Encoded item length; 0xFFFFFFFF when undefined. */
  readonly length: number;
  /** Offset after the item, including its delimitation item. */
  end: number;
  readonly parent: DicomElement;
  readonly index: number;
}

/** One item of encapsulated pixel data: the basic offset table (index 0) or a fragment. */
export interface Fragment {
  readonly offset: number;
  readonly valueOffset: number;
  readonly length: number;
}

export interface DicomElement {
  readonly tag: Tag;
  readonly vr: VR;
  /** How the VR is known: read from the stream, or assumed from the dictionary (implicit VR). */
  readonly vrExplicit: boolean;
  /** Offset of the tag. */
  readonly offset: number;
  readonly valueOffset: number;
  /** Encoded value length; 0xFFFFFFFF when undefined. */
  readonly length: number;
  /** Offset after the element, including a sequence delimitation item. */
  end: number;
  readonly parent: ElementContainer;
  /** Items of a sequence, or of a UN / private element whose value parsed as an implicit VR sequence. */
  items?: DicomItem[];
  /** Items of encapsulated pixel data. */
  fragments?: Fragment[];
}

export interface Finding {
  readonly code: string;
  readonly path: string;
  readonly offset: number;
}

export interface DicomFile {
  readonly source: ByteSource;
  /** 128-byte preamble and "DICM" present. */
  readonly hasPreamble: boolean;
  /** File meta information (group 0002), always explicit VR little endian; undefined for a bare dataset. */
  readonly meta: DicomDataset | undefined;
  /** The transfer syntax UID as declared in the meta, trimmed; undefined when absent. */
  readonly declaredTransferSyntax: string | undefined;
  /** The transfer syntax the dataset was actually read with. */
  readonly transferSyntax: TransferSyntax;
  /** Offset in the file where the dataset starts (the deflated stream, for deflated files). */
  readonly datasetOffset: number;
  /** Bytes the dataset's offsets refer to: the file itself, or the inflated dataset. */
  readonly datasetSource: ByteSource;
  readonly dataset: DicomDataset;
  readonly findings: Finding[];
}
