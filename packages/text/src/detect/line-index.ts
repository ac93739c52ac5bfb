/**
 * The lines of one text, found once: where each line starts and ends, and a memo of per-line answers. Rules that
 * ask about "the line holding this word" for many words must not rescan the line each time (quadratic on one long
 * line: a hostile prompt of 80 KB without a newline took seconds).
 */
export class LineIndex {
  readonly #text: string;
  #starts: number[] | undefined;
  readonly #memo = new Map<string, Map<number, boolean>>();

  constructor(text: string) {
    this.#text = text;
  }

  /** The start of the line holding `pos` (a position that is not itself a newline). */
  startOf(pos: number): number {
    if (this.#starts === undefined) {
      const starts = [0];
      for (let i = this.#text.indexOf('\n'); i >= 0; i = this.#text.indexOf('\n', i + 1)) starts.push(i + 1);
      this.#starts = starts;
    }
    const starts = this.#starts;
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid]! <= pos) lo = mid;
      else hi = mid - 1;
    }
    return starts[lo]!;
  }

  /** The line holding `pos`, without its newline. */
  lineOf(pos: number): string {
    const a = this.startOf(pos);
    const b = this.#text.indexOf('\n', a);
    return this.#text.slice(a, b < 0 ? this.#text.length : b);
  }

  /** `test` of the line holding `pos`, computed once per line for each `key`. */
  lineIs(key: string, pos: number, test: (line: string) => boolean): boolean {
    let byLine = this.#memo.get(key);
    if (byLine === undefined) {
      byLine = new Map();
      this.#memo.set(key, byLine);
    }
    const a = this.startOf(pos);
    let r = byLine.get(a);
    if (r === undefined) {
      r = test(this.lineOf(pos));
      byLine.set(a, r);
    }
    return r;
  }
}
