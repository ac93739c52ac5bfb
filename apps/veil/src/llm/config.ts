/**
 * `veil llm-proxy --config FILE` (JSON or YAML). Every key is optional:
 *   upstreamKey / upstreamKeyFile   sent upstream as `Authorization: Bearer ...` instead of the caller's header
 *   allowHosts                      hosts answers may link to with data and tools may send data to (default none)
 *   maxBodyBytes                    largest request body (default 4 MiB; larger: 413)
 *   timeoutMs                       upstream timeout, headers to last byte (default 120000)
 *   auditFile                       append the audit lines there (default: standard error)
 *   threshold                       detection threshold (default 0.5)
 *   patientKeyHeader                request header naming the patient whose dates shift together
 *                                   (default x-veil-patient-key; absent: one shift per caller)
 *   scrubWorkers                    worker threads that scrub request bodies off the event loop (default
 *                                   min(2, available cores); 0: in-process, one large prompt stalls other callers)
 *   maxTextChars                    most characters of model-visible text in one request (default 1,048,576;
 *                                   more: 413 LLM_PROXY_TEXT_TOO_LONG, nothing forwarded)
 *   maxAnswerBytes                  most bytes read from upstream for one answer, streamed or not (default 16 MiB;
 *                                   more: 502 LLM_PROXY_ANSWER_TOO_LARGE, or a stream cut with an error event)
 *   maxEventChars                   most characters of one server-sent event from upstream (default 1,048,576;
 *                                   more: the stream is cut with an LLM_PROXY_EVENT_TOO_LARGE error event)
 *   maxConcurrentRequests           requests handled at once, all callers together (default 64; more: 503
 *                                   LLM_PROXY_BUSY with Retry-After, the body not read): with maxBodyBytes it bounds
 *                                   the memory that bodies waiting for a scrub thread hold (64 x 4 MiB)
 */
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { parse as parseYaml } from 'yaml';
import { CliError, EXIT_CONFIG } from '../deid/cli-error.ts';

export interface LlmProxyConfig {
  upstreamKey?: string;
  allowHosts: string[];
  maxBodyBytes: number;
  timeoutMs: number;
  auditFile?: string;
  threshold?: number;
  patientKeyHeader: string;
  scrubWorkers: number;
  maxTextChars: number;
  maxAnswerBytes: number;
  maxEventChars: number;
  maxConcurrentRequests: number;
}

export const DEFAULT_CONFIG: LlmProxyConfig = {
  allowHosts: [],
  maxBodyBytes: 4 * 1024 * 1024,
  timeoutMs: 120_000,
  patientKeyHeader: 'x-veil-patient-key',
  scrubWorkers: Math.min(2, availableParallelism()),
  maxTextChars: 1024 * 1024,
  maxAnswerBytes: 16 * 1024 * 1024,
  maxEventChars: 1024 * 1024,
  maxConcurrentRequests: 64,
};

export function loadLlmProxyConfig(file: string | undefined): LlmProxyConfig {
  if (file === undefined) return { ...DEFAULT_CONFIG };
  let raw: unknown;
  try {
    const text = readFileSync(file, 'utf8');
    raw = /\.ya?ml$/i.test(file) ? parseYaml(text) : JSON.parse(text);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new CliError(EXIT_CONFIG, `LLM_PROXY_CONFIG_UNREADABLE: ${file} (${code ?? 'not valid JSON/YAML'})`);
  }
  return parseLlmProxyConfig(raw, file);
}

export function parseLlmProxyConfig(raw: unknown, origin = 'config'): LlmProxyConfig {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw))
    throw new CliError(EXIT_CONFIG, `LLM_PROXY_CONFIG_INVALID: ${origin} is not an object`);
  const c = raw as Record<string, unknown>;
  const known = new Set([
    'upstreamKey',
    'upstreamKeyFile',
    'allowHosts',
    'maxBodyBytes',
    'timeoutMs',
    'auditFile',
    'threshold',
    'patientKeyHeader',
    'scrubWorkers',
    'maxTextChars',
    'maxAnswerBytes',
    'maxEventChars',
    'maxConcurrentRequests',
  ]);
  for (const k of Object.keys(c))
    if (!known.has(k)) throw new CliError(EXIT_CONFIG, `LLM_PROXY_CONFIG_INVALID: ${origin}: unknown key ${k}`);
  const out: LlmProxyConfig = { ...DEFAULT_CONFIG };
  const bad = (k: string) => new CliError(EXIT_CONFIG, `LLM_PROXY_CONFIG_INVALID: ${origin}: ${k}`);
  if (c.upstreamKey !== undefined) {
    if (typeof c.upstreamKey !== 'string' || c.upstreamKey === '') throw bad('upstreamKey');
    out.upstreamKey = c.upstreamKey;
  }
  if (c.upstreamKeyFile !== undefined) {
    if (typeof c.upstreamKeyFile !== 'string') throw bad('upstreamKeyFile');
    try {
      out.upstreamKey = readFileSync(c.upstreamKeyFile, 'utf8').trim();
    } catch {
      throw bad('upstreamKeyFile (unreadable)');
    }
  }
  if (c.allowHosts !== undefined) {
    if (!Array.isArray(c.allowHosts) || !c.allowHosts.every((h) => typeof h === 'string')) throw bad('allowHosts');
    out.allowHosts = c.allowHosts as string[];
  }
  for (const k of [
    'maxBodyBytes',
    'timeoutMs',
    'maxTextChars',
    'maxAnswerBytes',
    'maxEventChars',
    'maxConcurrentRequests',
  ] as const) {
    if (c[k] !== undefined) {
      if (typeof c[k] !== 'number' || !Number.isInteger(c[k]) || (c[k] as number) <= 0) throw bad(k);
      out[k] = c[k] as number;
    }
  }
  if (c.scrubWorkers !== undefined) {
    const n = c.scrubWorkers;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > 64) throw bad('scrubWorkers');
    out.scrubWorkers = n;
  }
  if (c.auditFile !== undefined) {
    if (typeof c.auditFile !== 'string') throw bad('auditFile');
    out.auditFile = c.auditFile;
  }
  if (c.threshold !== undefined) {
    if (typeof c.threshold !== 'number' || c.threshold < 0 || c.threshold > 1) throw bad('threshold');
    out.threshold = c.threshold;
  }
  if (c.patientKeyHeader !== undefined) {
    if (typeof c.patientKeyHeader !== 'string') throw bad('patientKeyHeader');
    out.patientKeyHeader = c.patientKeyHeader.toLowerCase();
  }
  return out;
}
