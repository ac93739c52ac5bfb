/**
 * The region library: rectangles where a given kind of device is known to burn text into its images, matched on
 * header values (manufacturer, model, SOP class, modality, image size). Facts learnt from the public filter rules of
 * CTP's DicomPixelAnonymizer.script and pydicom/deid's deid.dicom; the format is Veil's own (version 1), JSON, and a
 * configuration may add rules (pixels.text.regions).
 *
 * A rule:
 *   { "id": "ge-ct-dose-screen", "match": { "manufacturer": "GE", "modality": "CT", "columns": 512, "rows": 512,
 *     "imageType": "SECONDARY" }, "boxes": [[x0, y0, x1, y1], ...] }
 * `match` keys are all optional; manufacturer and model match when the header value contains them (any case),
 * modality and sopClassUID exactly, imageType when it is one of the header's values, rows and columns exactly. Box corners are pixel
 * coordinates, x1/y1 exclusive; a negative x counts from the right edge, a negative y from the bottom.
 *
 * Example:
 *   const boxes = regionBoxes(parseRegionLibrary(json).concat(BUILTIN_REGIONS), headerFacts(file));
 */
import { type DicomFile, findElement, readNumbers, readString, VeilError } from '@veil/core';
import type { Box } from './box.ts';
import builtin from './regions.v1.json' with { type: 'json' };

export interface RegionMatch {
  readonly manufacturer?: string;
  readonly model?: string;
  readonly modality?: string;
  readonly sopClassUID?: string;
  readonly imageType?: string;
  readonly rows?: number;
  readonly columns?: number;
}

export interface RegionRule {
  readonly id: string;
  readonly match: RegionMatch;
  readonly boxes: readonly (readonly [number, number, number, number])[];
}

export interface HeaderFacts {
  readonly manufacturer: string;
  readonly model: string;
  readonly modality: string;
  readonly sopClassUID: string;
  readonly imageType: readonly string[];
  readonly rows: number;
  readonly columns: number;
}

function text(file: DicomFile, tag: number): string {
  const el = findElement(file.dataset, tag);
  return el ? readString(el).trim() : '';
}

export function headerFacts(file: DicomFile): HeaderFacts {
  const n = (tag: number) => {
    const el = findElement(file.dataset, tag);
    return el ? (readNumbers(el)[0] ?? 0) : 0;
  };
  return {
    manufacturer: text(file, 0x00080070),
    model: text(file, 0x00081090),
    modality: text(file, 0x00080060),
    sopClassUID: text(file, 0x00080016),
    imageType: text(file, 0x00080008)
      .split('\\')
      .map((s) => s.trim().toUpperCase()),
    rows: n(0x00280010),
    columns: n(0x00280011),
  };
}

function contains(value: string, want: string | undefined): boolean {
  return want === undefined || value.toUpperCase().includes(want.toUpperCase());
}

export function matches(rule: RegionRule, f: HeaderFacts): boolean {
  const m = rule.match;
  return (
    contains(f.manufacturer, m.manufacturer) &&
    contains(f.model, m.model) &&
    (m.modality === undefined || f.modality.toUpperCase() === m.modality.toUpperCase()) &&
    (m.sopClassUID === undefined || f.sopClassUID === m.sopClassUID) &&
    (m.imageType === undefined || f.imageType.includes(m.imageType.toUpperCase())) &&
    (m.rows === undefined || f.rows === m.rows) &&
    (m.columns === undefined || f.columns === m.columns)
  );
}

/** The boxes of every matching rule, in frame coordinates (negative corners resolved, clipped). */
export function regionBoxes(rules: readonly RegionRule[], f: HeaderFacts): Box[] {
  const out: Box[] = [];
  for (const r of rules) {
    if (!matches(r, f)) continue;
    for (const [a, b, c, d] of r.boxes) {
      const x0 = a < 0 ? f.columns + a : a;
      const y0 = b < 0 ? f.rows + b : b;
      const x1 = c < 0 ? f.columns + c : c;
      const y1 = d < 0 ? f.rows + d : d;
      const box = {
        x0: Math.max(0, x0),
        y0: Math.max(0, y0),
        x1: Math.min(f.columns, x1),
        y1: Math.min(f.rows, y1),
        source: `region:${r.id}`,
        score: 1,
      };
      if (box.x1 > box.x0 && box.y1 > box.y0) out.push(box);
    }
  }
  return out;
}

const MATCH_KEYS = new Set(['manufacturer', 'model', 'modality', 'sopClassUID', 'imageType', 'rows', 'columns']);

/** Validates a region library (version 1): { "version": 1, "rules": [...] } or a bare list of rules. */
export function parseRegionLibrary(input: unknown, where = 'pixels.text.regions'): RegionRule[] {
  const bad = (): never => {
    throw new VeilError('CONFIG_INVALID', { path: where });
  };
  let list: unknown = input;
  if (input && typeof input === 'object' && !Array.isArray(input)) {
    const o = input as Record<string, unknown>;
    if (o.version !== 1) bad();
    list = o.rules;
  }
  if (!Array.isArray(list)) return bad();
  return list.map((r) => {
    if (!r || typeof r !== 'object') bad();
    const { id, match, boxes } = r as Record<string, unknown>;
    if (typeof id !== 'string' || !match || typeof match !== 'object' || !Array.isArray(boxes)) bad();
    for (const [k, v] of Object.entries(match as object)) {
      if (!MATCH_KEYS.has(k)) bad();
      if ((k === 'rows' || k === 'columns') !== (typeof v === 'number')) bad();
    }
    for (const b of boxes as unknown[]) {
      if (!Array.isArray(b) || b.length !== 4 || !b.every((n) => Number.isInteger(n))) bad();
    }
    return r as RegionRule;
  });
}

export const BUILTIN_REGIONS: readonly RegionRule[] = parseRegionLibrary(builtin, 'regions.v1.json');
