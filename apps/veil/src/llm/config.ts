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
 */
import { readFileSync } from 'node:fs';
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
}

export const DEFAULT_CONFIG: LlmProxyConfig = {
  allowHosts: [],
  maxBodyBytes: 4 * 1024 * 1024,
  timeoutMs: 120_000,
  patientKeyHeader: 'x-veil-patient-key',
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
  for (const k of ['maxBodyBytes', 'timeoutMs'] as const) {
    if (c[k] !== undefined) {
      if (typeof c[k] !== 'number' || !Number.isInteger(c[k]) || (c[k] as number) <= 0) throw bad(k);
      out[k] = c[k] as number;
    }
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
