/**
 * A cheap pre-filter in front of the neural text detector: where in a frame can there be burned-in text at all?
 * Burned-in text is high-contrast thin strokes, several side by side: along a row through a text line there are two
 * or more thin strokes (a sharp rise then a sharp fall, or the reverse for dark text, within a few pixels) close
 * together. Anatomy gives smooth ramps or single bands (a skull edge: one stroke per row), flat background none.
 * The frame is cut in square tiles; a tile is a candidate when at least two of its rows (or columns: stacked
 * horizontal bars) hold two or more thin strokes. Candidate tiles, grown by one tile, are joined into rectangles;
 * the detector runs only on those (see ppocr.ts). A frame with no candidate tile is not run through the detector.
 *
 * Known limit: a lone character with a single stem and a single bar ('L', 'I' alone) gives one stroke per row and
 * column and is not a candidate unless other text is next to it.
 *
 * Example:
 *   const rects = textLikeRegions(img); // [] => no text-like content
 */
import { mergeOverlapping } from '../box.ts';
import { maxChannel, type Rgb8 } from '../render.ts';

export interface Rect {
  readonly x: number;
  readonly y: number;
  readonly w: number;
  readonly h: number;
}

/** Step between two neighbours that counts as a stroke edge (8-bit display values). */
const EDGE = 40;

/** Tile side for a frame: 32 up to a 1024 long side, then growing with the frame (fonts grow with it). */
export function tileSide(width: number, height: number): number {
  const long = Math.max(width, height);
  return long <= 1024 ? 32 : Math.min(128, 32 * Math.ceil(long / 1024));
}

/** Widest stroke counted as thin, in pixels. */
function maxStroke(width: number, height: number): number {
  return Math.max(5, Math.round(Math.max(width, height) / 160));
}

let grey: Uint8Array = new Uint8Array(0);

/** Max of R, G, B (render.ts maxChannel) in this module's reused buffer. */
function toGrey(img: Rgb8): Uint8Array {
  grey = maxChannel(img, grey);
  return grey;
}

/**
 * Counts thin strokes along one line of `len` samples from `start` with stride `step`, and for each tile along the
 * line (tile index = position / tile) whether it held two or more: increments `hits[tileBase + t * tileStride]`.
 */
function scanLine(
  g: Uint8Array,
  start: number,
  step: number,
  len: number,
  tile: number,
  thin: number,
  hits: Uint16Array,
  tileBase: number,
  tileStride: number,
): void {
  let lastEdgePos = -1000;
  let lastEdgeSign = 0;
  let curTile = -1;
  let count = 0;
  let prev = g[start] as number;
  for (let k = 1; k < len; k++) {
    const v = g[start + k * step] as number;
    const d = v - prev;
    prev = v;
    if (d > EDGE || d < -EDGE) {
      const sign = d > 0 ? 1 : -1;
      if (lastEdgeSign === -sign && k - lastEdgePos <= thin) {
        // A stroke ends here: count it in the tile of its end.
        const t = (k / tile) | 0;
        if (t !== curTile) {
          if (count >= 2) hits[tileBase + curTile * tileStride] = (hits[tileBase + curTile * tileStride] as number) + 1;
          curTile = t;
          count = 0;
        }
        count++;
        lastEdgeSign = 0;
      } else {
        lastEdgeSign = sign;
        lastEdgePos = k;
      }
    }
  }
  if (curTile >= 0 && count >= 2)
    hits[tileBase + curTile * tileStride] = (hits[tileBase + curTile * tileStride] as number) + 1;
}

let hitsBuf = new Uint16Array(0);

/** Tiles (row-major, tx + ty * tilesX) with text-like strokes. */
export function textLikeTiles(img: Rgb8): { tile: number; tilesX: number; tilesY: number; mask: Uint8Array } {
  const { width: W, height: H } = img;
  const tile = tileSide(W, H);
  const thin = maxStroke(W, H);
  const tilesX = Math.ceil(W / tile);
  const tilesY = Math.ceil(H / tile);
  const nt = tilesX * tilesY;
  if (hitsBuf.length < 2 * nt) hitsBuf = new Uint16Array(2 * nt);
  const rowHits = hitsBuf.subarray(0, nt);
  const colHits = hitsBuf.subarray(nt, 2 * nt);
  rowHits.fill(0);
  colHits.fill(0);
  const g = toGrey(img);
  for (let y = 0; y < H; y++) scanLine(g, y * W, 1, W, tile, thin, rowHits, ((y / tile) | 0) * tilesX, 1);
  for (let x = 0; x < W; x++) scanLine(g, x, W, H, tile, thin, colHits, (x / tile) | 0, tilesX);
  const mask = new Uint8Array(nt);
  for (let t = 0; t < nt; t++) mask[t] = (rowHits[t] as number) >= 2 || (colHits[t] as number) >= 2 ? 1 : 0;
  return { tile, tilesX, tilesY, mask };
}

/**
 * Rectangles (frame pixels) the detector should look at: candidate tiles grown by one tile, joined where they touch
 * or overlap. [] when nothing in the frame looks like text.
 */
export function textLikeRegions(img: Rgb8): Rect[] {
  const { tile, tilesX, tilesY, mask } = textLikeTiles(img);
  const grown = new Uint8Array(tilesX * tilesY);
  for (let ty = 0; ty < tilesY; ty++) {
    for (let tx = 0; tx < tilesX; tx++) {
      if (!mask[tx + ty * tilesX]) continue;
      for (let dy = -1; dy <= 1; dy++) {
        for (let dx = -1; dx <= 1; dx++) {
          const x = tx + dx;
          const y = ty + dy;
          if (x >= 0 && y >= 0 && x < tilesX && y < tilesY) grown[x + y * tilesX] = 1;
        }
      }
    }
  }
  // Connected groups of grown tiles -> bounding rectangles (in tiles).
  const rects: { x0: number; y0: number; x1: number; y1: number }[] = [];
  const seen = new Uint8Array(tilesX * tilesY);
  const stack: number[] = [];
  for (let s = 0; s < grown.length; s++) {
    if (!grown[s] || seen[s]) continue;
    let x0 = tilesX;
    let y0 = tilesY;
    let x1 = -1;
    let y1 = -1;
    seen[s] = 1;
    stack.push(s);
    while (stack.length > 0) {
      const p = stack.pop() as number;
      const x = p % tilesX;
      const y = (p - x) / tilesX;
      if (x < x0) x0 = x;
      if (x > x1) x1 = x;
      if (y < y0) y0 = y;
      if (y > y1) y1 = y;
      const nb = [
        x > 0 ? p - 1 : -1,
        x + 1 < tilesX ? p + 1 : -1,
        y > 0 ? p - tilesX : -1,
        y + 1 < tilesY ? p + tilesX : -1,
      ];
      for (const q of nb) {
        if (q >= 0 && grown[q] && !seen[q]) {
          seen[q] = 1;
          stack.push(q);
        }
      }
    }
    rects.push({ x0, y0, x1: x1 + 1, y1: y1 + 1 });
  }
  // Bounding rectangles of different groups can overlap: join those.
  return mergeOverlapping(rects).map((r) => {
    const x = r.x0 * tile;
    const y = r.y0 * tile;
    return { x, y, w: Math.min(img.width, r.x1 * tile) - x, h: Math.min(img.height, r.y1 * tile) - y };
  });
}
