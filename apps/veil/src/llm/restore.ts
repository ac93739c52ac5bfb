/**
 * Puts the original values back into the model's answer: every surrogate the proxy sent up is mapped to the value
 * it replaced. Streaming answers arrive in pieces, and a surrogate may be split across them ("Ke" + "ith Alv" +
 * "arez"): the stream restorer holds back the shortest tail that could still be the start of a surrogate and
 * emits everything before it, so the caller never sees half a surrogate and the added delay is at most one
 * surrogate's length of text. Matches respect word edges ("Kim" is not restored inside "Kimberly").
 */

const WORDISH = /[\p{L}\p{N}]/u;

export class Restorer {
  readonly size: number;
  private readonly map: Map<string, string>;
  private readonly re: RegExp | undefined;
  private readonly prefixes = new Set<string>();
  private readonly maxLen: number;

  /** `pairs`: surrogate -> original. */
  constructor(pairs: ReadonlyMap<string, string>) {
    this.map = new Map([...pairs].filter(([s, o]) => s.length > 0 && s !== o));
    this.size = this.map.size;
    let max = 0;
    for (const s of this.map.keys()) {
      max = Math.max(max, s.length);
      for (let i = 1; i < s.length; i++) this.prefixes.add(s.slice(0, i));
    }
    this.maxLen = max;
    const alts = [...this.map.keys()]
      .sort((a, b) => b.length - a.length)
      .map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
    this.re = alts.length > 0 ? new RegExp(alts.join('|'), 'g') : undefined;
  }

  /** Whether `text` holds any surrogate. */
  contains(text: string): boolean {
    if (!this.re) return false;
    this.re.lastIndex = 0;
    for (const m of text.matchAll(this.re)) if (this.atEdges(text, m.index, m.index + m[0].length)) return true;
    return false;
  }

  restore(text: string): string {
    return this.replaceUpTo(text, text.length, true).out;
  }

  stream(): StreamRestorer {
    return new StreamRestorer(this);
  }

  private atEdges(text: string, start: number, end: number): boolean {
    return !WORDISH.test(text.charAt(start - 1)) && !WORDISH.test(text.charAt(end));
  }

  /**
   * Replaces the complete surrogates in text[0, limit) and returns the restored text and where it stopped (a match
   * that reaches `limit` without `final` is held back, since the next piece could extend the word).
   */
  replaceUpTo(text: string, limit: number, final: boolean): { out: string; consumed: number } {
    if (!this.re) return { out: text.slice(0, limit), consumed: limit };
    let out = '';
    let pos = 0;
    this.re.lastIndex = 0;
    for (const m of text.matchAll(this.re)) {
      const s = m.index;
      const e = s + m[0].length;
      if (s >= limit) break;
      if (!final && e >= text.length) {
        limit = Math.min(limit, s);
        break;
      }
      if (e > limit) limit = e; // a complete match that straddles the cut is emitted whole
      if (!this.atEdges(text, s, e)) continue;
      out += text.slice(pos, s) + this.map.get(m[0])!;
      pos = e;
    }
    if (pos > limit) limit = pos;
    out += text.slice(pos, limit);
    return { out, consumed: limit };
  }

  /** Length of the longest tail of `text` that is a proper prefix of some surrogate. */
  heldTail(text: string): number {
    for (let k = Math.min(this.maxLen - 1, text.length); k > 0; k--) {
      if (this.prefixes.has(text.slice(text.length - k))) return k;
    }
    return 0;
  }
}

export class StreamRestorer {
  private buf = '';
  constructor(private readonly r: Restorer) {}

  push(chunk: string): string {
    this.buf += chunk;
    const hold = this.r.heldTail(this.buf);
    const { out, consumed } = this.r.replaceUpTo(this.buf, this.buf.length - hold, false);
    this.buf = this.buf.slice(consumed);
    return out;
  }

  flush(): string {
    const out = this.r.restore(this.buf);
    this.buf = '';
    return out;
  }
}
