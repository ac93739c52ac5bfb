/** Helpers of the LLM proxy tests (llm-proxy.test.ts, llm-proxy-limits.test.ts): the stand-in upstream's body reader. */
import type { IncomingMessage } from 'node:http';

/** A request's whole body as UTF-8 text. */
export function readText(req: IncomingMessage): Promise<string> {
  return new Promise((r) => {
    let s = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => {
      s += c;
    });
    req.on('end', () => r(s));
  });
}
