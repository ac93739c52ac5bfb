/**
 * `veil token`: makes a new random bearer token and prints it with the hash to put in a configuration
 * (`auth.tokens` of a STOW-RS ingress or of the HTTP port, `veil dicomweb-serve --token-hash`).
 * `veil token hash` hashes a token or passphrase read from standard input (scrypt with --scrypt), e.g. for a DIMSE
 * user identity passcode. The configuration holds only hashes; the token itself goes to the client.
 */
import type { Command } from 'commander';
import { CliError, EXIT_USAGE, runCommand } from '../deid/cli-error.ts';
import { generateToken, hashToken } from '../server/auth.ts';

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
}

export function register(program: Command): void {
  const token = program
    .command('token')
    .description('Print a new random bearer token and its hash for the configuration')
    .option('--scrypt', 'hash with scrypt instead of SHA-256 (DIMSE user identity passcodes only)')
    .addHelpText(
      'after',
      `
Output: two lines, "token: <TOKEN>" (give it to the client: Authorization: Bearer <TOKEN>) and "hash: <HASH>" (put it
in auth.tokens, or pass it to veil dicomweb-serve --token-hash). Veil never stores the token itself.

Example:
  veil token
  printf %s "$PASSCODE" | veil token hash --scrypt   # a DIMSE user identity passcode`,
    )
    .action(async (flags: { scrypt?: boolean }) => {
      await runCommand('token', () => {
        const t = generateToken();
        process.stdout.write(`token: ${t}\nhash: ${hashToken(t, flags.scrypt ? 'scrypt' : 'sha256')}\n`);
        return 0;
      });
    });
  token
    .command('hash')
    .description('Hash a token or passphrase read from standard input')
    .option('--scrypt', 'scrypt (chosen passcodes: DIMSE user identity) instead of SHA-256 (random tokens, HTTP)')
    .action(async (flags: { scrypt?: boolean }) => {
      await runCommand('token', async () => {
        const t = await readStdin();
        if (t.length === 0) throw new CliError(EXIT_USAGE, 'nothing on standard input');
        // `--scrypt` after `hash` may be taken by the parent command, which has the same option.
        const scrypt = flags.scrypt === true || (token.opts() as { scrypt?: boolean }).scrypt === true;
        process.stdout.write(`${hashToken(t, scrypt ? 'scrypt' : 'sha256')}\n`);
        return 0;
      });
    });
}
