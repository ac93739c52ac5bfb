/**
 * Line fitting (src/detect/extend.ts) on synthetic frames: a detector box over the first word of a bright line on
 * grainy background is followed to the line's end (word gaps bridged), the stacked line below is not swallowed,
 * a box on texture that is as busy above and below (no leading) is not extended, and a line drawn over a bright band
 * (a table edge) is followed over its letters but not along the bare band beyond them.
 *
 * Run: node --import tsx --test packages/pixels/test/extend.test.ts   (<1 s)
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Box } from '../src/box.ts';
import { extendLines } from '../src/detect/extend.ts';
import type { Rgb8 } from '../src/render.ts';

const W = 240;
const H = 80;

/** Grainy background 60-120 (a fixed generator: the test is deterministic). */
function frame(): Uint8Array {
  const g = new Uint8Array(W * H);
  let s = 12345;
  for (let i = 0; i < g.length; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    g[i] = 60 + ((s >>> 16) % 61);
  }
  return g;
}

/** 'Glyphs' 6 wide, `h` high at 255: two stems and a top and bottom bar, 2 pixels apart; a space every 5. */
function drawLine(g: Uint8Array, x0: number, x1: number, y0: number, h: number): void {
  for (let k = 0, x = x0; x + 6 <= x1; k++, x += 8) {
    if (k % 5 === 4) continue;
    for (let y = y0; y < y0 + h; y++) {
      for (let dx = 0; dx < 6; dx++) {
        const stem = dx === 0 || dx === 5;
        const bar = y === y0 || y === y0 + h - 1;
        if (stem || bar) g[y * W + x + dx] = 255;
      }
    }
  }
}

function rgb(g: Uint8Array): Rgb8 {
  const out = new Uint8Array(W * H * 3);
  for (let i = 0; i < g.length; i++) out.fill(g[i] as number, 3 * i, 3 * i + 3);
  return { width: W, height: H, rgb: out };
}

const box = (x0: number, y0: number, x1: number, y1: number): Box => ({
  x0,
  y0,
  x1,
  y1,
  source: 'detector',
  score: 0.8,
});

describe('extendLines', () => {
  it('follows a line found in part to its end, not into the stacked line below', () => {
    const g = frame();
    drawLine(g, 20, 220, 20, 10);
    drawLine(g, 20, 220, 34, 10); // 4 rows of leading
    const [b] = extendLines(rgb(g), [box(18, 18, 60, 31)]);
    assert.ok(b);
    assert.ok(b.x1 >= 210, `followed to ${b.x1}`); // the last glyph ends at 210
    assert.ok(b.x0 <= 20 && b.y0 <= 20 && b.y1 >= 30, 'the detector box is kept');
    assert.ok(b.y1 <= 34, `stays on its line (y1 ${b.y1})`);
  });

  it('does not extend over texture that is as busy above and below', () => {
    const g = frame();
    // Bright speckle everywhere (not a line): every 3rd pixel of every other row at 255.
    for (let y = 0; y < H; y += 2) for (let x = 0; x < W; x += 3) g[y * W + x] = 255;
    const [b] = extendLines(rgb(g), [box(100, 20, 140, 32)]);
    assert.ok(b);
    assert.ok(b.x0 >= 96 && b.x1 <= 144, `extended over texture to [${b.x0}, ${b.x1})`);
  });

  it('stops at a bright band running along the line (a table edge), and follows letters drawn on it', () => {
    const g = frame();
    // A saturated band 3 rows high across the frame, on the middle rows of the line.
    for (let y = 24; y < 27; y++) g.fill(255, y * W, (y + 1) * W);
    drawLine(g, 100, 180, 20, 10);
    // A third stem in each glyph (bolder letters: their rows stay marked against the band's full rows).
    for (let x = 103; x < 180; x += 8) for (let y = 20; y < 30; y++) if (g[y * W + x - 3] === 255) g[y * W + x] = 255;
    const [b] = extendLines(rgb(g), [box(118, 18, 160, 31)]);
    assert.ok(b);
    assert.ok(b.x0 <= 100 && b.x1 >= 170, `letters on the band followed: [${b.x0}, ${b.x1})`);
    assert.ok(b.x0 >= 96 && b.x1 <= 186, `extended along the bare band to [${b.x0}, ${b.x1})`);
  });

  it('leaves region boxes alone', () => {
    const r: Box = { x0: 0, y0: 0, x1: 10, y1: 10, source: 'region:x', score: 1 };
    assert.deepEqual(extendLines(rgb(frame()), [r]), [r]);
  });
});
