/**
 * `veil llm-proxy`: an OpenAI-compatible privacy proxy in front of any LLM (see llm/proxy.ts). Binds 127.0.0.1 by
 * default; audit lines go to standard error or the config's auditFile.
 */
import { appendFileSync } from 'node:fs';
import type { Command } from 'commander';
import { CliError, EXIT_USAGE, runCommand } from '../deid/cli-error.ts';
import { loadKey } from '../deid/keys.ts';
import { loadLlmProxyConfig } from '../llm/config.ts';
import { createLlmProxy } from '../llm/proxy.ts';

interface Flags {
  upstream: string;
  port: string;
  keyFile?: string;
  bind: string;
  config?: string;
}

export function register(program: Command): void {
  program
    .command('llm-proxy')
    .description('OpenAI-compatible proxy that replaces PHI with keyed surrogates before any LLM and restores it after')
    .requiredOption('--upstream <url>', 'the LLM API base URL (e.g. https://api.openai.com or http://127.0.0.1:11434)')
    .requiredOption('--port <n>', 'port to listen on (0: any free port, printed)')
    .option('-k, --key-file <file>', 'the project key (surrogates, caller fingerprints); default: $VEIL_KEY')
    .option('--bind <address>', 'address to listen on', '127.0.0.1')
    .option(
      '-c, --config <file>',
      'JSON or YAML: upstreamKey, allowHosts, maxBodyBytes, maxTextChars, maxAnswerBytes, maxEventChars, ' +
        'scrubWorkers, timeoutMs, auditFile, threshold, patientKeyHeader',
    )
    .addHelpText(
      'after',
      `
Routes: POST /v1/chat/completions and POST /v1/responses (stream true or false), GET /v1/models (passthrough).
Every text the model reads (system, user, tool results, content parts) is de-identified with keyed surrogates;
answers get the original values back, and images or links that would carry data to hosts not in allowHosts are
neutralised, as are tool calls that would send PHI there. The caller's Authorization header goes upstream unless
the config holds upstreamKey. One JSON audit line per request, without any text.

Example:
  veil llm-proxy --upstream https://api.openai.com --port 8089 --key-file ~/.config/veil/site.key
  OPENAI_BASE_URL=http://127.0.0.1:8089/v1 your-llm-client`,
    )
    .action(async (flags: Flags) => {
      await runCommand('llm-proxy', async () => {
        const port = Number(flags.port);
        if (!Number.isInteger(port) || port < 0 || port > 65535)
          throw new CliError(EXIT_USAGE, '--port must be 0-65535');
        let upstream: URL;
        try {
          upstream = new URL(flags.upstream);
        } catch {
          throw new CliError(EXIT_USAGE, '--upstream must be an http(s) URL');
        }
        if (upstream.protocol !== 'http:' && upstream.protocol !== 'https:')
          throw new CliError(EXIT_USAGE, '--upstream must be an http(s) URL');
        const key = loadKey({ keyFile: flags.keyFile, warn: (m) => process.stderr.write(`veil llm-proxy: ${m}\n`) });
        const config = loadLlmProxyConfig(flags.config);
        const audit = config.auditFile
          ? (line: string) => appendFileSync(config.auditFile!, `${line}\n`)
          : (line: string) => process.stderr.write(`${line}\n`);
        const server = createLlmProxy({
          upstream: upstream.href,
          key,
          config,
          audit,
          log: (m) => process.stderr.write(`veil llm-proxy: ${m}\n`),
        });
        await new Promise<void>((resolve, reject) => {
          server.once('error', (e: NodeJS.ErrnoException) =>
            reject(new CliError(EXIT_USAGE, `cannot listen on ${flags.bind}:${port} (${e.code ?? 'error'})`)),
          );
          server.listen(port, flags.bind, () => resolve());
        });
        const addr = server.address();
        const actual = typeof addr === 'object' && addr ? addr.port : port;
        process.stderr.write(`veil llm-proxy: listening on http://${flags.bind}:${actual}/v1 -> ${upstream.origin}\n`);
        await new Promise<void>((resolve) => {
          const stop = () => server.close(() => resolve());
          process.once('SIGINT', stop);
          process.once('SIGTERM', stop);
        });
        return 0;
      });
    });
}
