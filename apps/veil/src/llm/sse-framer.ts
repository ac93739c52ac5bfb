/**
 * Cuts a server-sent event stream, arriving as decoded text in pieces of any size, into event blocks (the text
 * between blank lines: `\n\n`, `\r\n\r\n` or a mix). Each piece is searched once, together with the last three
 * characters held from before (a delimiter split across pieces), and the pieces of a pending event are joined once,
 * when it ends: an upstream that sends one huge event in tiny pieces costs linear time, not a search and a copy of
 * the whole pending text per piece. The pending event's length is exposed for the caller's cap.
 *
 * Example:
 *   const f = new EventFramer();
 *   for (const block of f.push('data: 1\n\nda')) handle(block);   // 'data: 1'
 *   for (const block of f.push('ta: 2\r\n\r\n')) handle(block);  // 'data: 2'
 *   f.end();                                                      // '' (nothing left)
 */

/** `\r\n\r\n`, the longest blank line that ends an event */
const DELIMITER_MAX = 4;

export class EventFramer {
  readonly #end = /\r?\n\r?\n/g;
  /** the pending event's text, in the pieces it came in; holds no complete delimiter */
  #pending: string[] = [];
  #pendingLength = 0;

  /** Characters of the event not yet ended. */
  get pendingLength(): number {
    return this.#pendingLength;
  }

  /** The blocks that `text` completes, in order. */
  push(text: string): string[] {
    const tail = this.#tail(DELIMITER_MAX - 1);
    const window = tail + text;
    const re = this.#end;
    re.lastIndex = 0;
    let m = re.exec(window);
    if (!m) {
      if (text !== '') this.#pending.push(text);
      this.#pendingLength += text.length;
      return [];
    }
    const out: string[] = [];
    const held = this.#pending.join('');
    out.push(held.slice(0, held.length - tail.length) + window.slice(0, m.index));
    let start = m.index + m[0].length;
    re.lastIndex = start;
    for (m = re.exec(window); m; m = re.exec(window)) {
      out.push(window.slice(start, m.index));
      start = m.index + m[0].length;
      re.lastIndex = start;
    }
    const rest = window.slice(start);
    this.#pending = rest === '' ? [] : [rest];
    this.#pendingLength = rest.length;
    return out;
  }

  /** What is left once the stream ends (an event without its blank line). */
  end(): string {
    const rest = this.#pending.join('');
    this.#pending = [];
    this.#pendingLength = 0;
    return rest;
  }

  /** The last `n` characters held (fewer if fewer are held). */
  #tail(n: number): string {
    let t = '';
    for (let i = this.#pending.length - 1; i >= 0 && t.length < n; i--) t = this.#pending[i]! + t;
    return t.length > n ? t.slice(t.length - n) : t;
  }
}
