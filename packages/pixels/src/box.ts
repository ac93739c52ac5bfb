/**
 * A box in frame pixel coordinates: [x0, x1) x [y0, y1), with where it came from. Boxes are what detection
 * produces, what redaction fills and what the report shows.
 */
export interface Box {
  readonly x0: number;
  readonly y0: number;
  readonly x1: number;
  readonly y1: number;
  /** 'detector' (OCR text detection) or 'region:<rule id>' (the region library). */
  readonly source: string;
  /** Detector confidence (mean text probability), 1 for region rules. */
  readonly score: number;
}

export function grow(b: Box, margin: number, width: number, height: number): Box {
  return {
    ...b,
    x0: Math.max(0, b.x0 - margin),
    y0: Math.max(0, b.y0 - margin),
    x1: Math.min(width, b.x1 + margin),
    y1: Math.min(height, b.y1 + margin),
  };
}

export function clip(b: Box, width: number, height: number): Box | undefined {
  const c = {
    ...b,
    x0: Math.max(0, b.x0),
    y0: Math.max(0, b.y0),
    x1: Math.min(width, b.x1),
    y1: Math.min(height, b.y1),
  };
  return c.x1 > c.x0 && c.y1 > c.y0 ? c : undefined;
}

/** A rectangle [x0, x1) x [y0, y1) without a source (search areas, candidate regions). */
export interface Bounds {
  readonly x0: number;
  readonly y0: number;
  readonly x1: number;
  readonly y1: number;
}

/**
 * Joins overlapping rectangles into their bounding rectangle until no two overlap (in place; returns the list).
 * Quadratic per pass: for the handful of regions of one frame.
 */
export function mergeOverlapping(rects: Bounds[]): Bounds[] {
  for (let merged = true; merged; ) {
    merged = false;
    for (let i = 0; i < rects.length && !merged; i++) {
      for (let j = i + 1; j < rects.length; j++) {
        const a = rects[i] as Bounds;
        const b = rects[j] as Bounds;
        if (a.x0 < b.x1 && b.x0 < a.x1 && a.y0 < b.y1 && b.y0 < a.y1) {
          rects[i] = {
            x0: Math.min(a.x0, b.x0),
            y0: Math.min(a.y0, b.y0),
            x1: Math.max(a.x1, b.x1),
            y1: Math.max(a.y1, b.y1),
          };
          rects.splice(j, 1);
          merged = true;
          break;
        }
      }
    }
  }
  return rects;
}

export function area(b: Box): number {
  return Math.max(0, b.x1 - b.x0) * Math.max(0, b.y1 - b.y0);
}

export function intersection(a: Box, b: Box): number {
  const w = Math.min(a.x1, b.x1) - Math.max(a.x0, b.x0);
  const h = Math.min(a.y1, b.y1) - Math.max(a.y0, b.y0);
  return w > 0 && h > 0 ? w * h : 0;
}
