/** `veil keygen`: prints a new random 32-byte project key (base64, or hex), or writes it to a new 0600 file. */
import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { CliError, EXIT_USAGE, runCommand } from '../deid/cli-error.ts';
import { generateKey } from '../deid/keys.ts';

export function register(program: Command): void {
  program
    .command('keygen')
    .description('Print a new random 32-byte secret key (base64) for pseudonyms and the crosswalk')
    .option('--hex', 'print hex instead of base64')
    .option('--out <file>', 'write the key to a new file readable by you only (refuses to overwrite)')
    .addHelpText(
      'after',
      `
Keep the key out of the repository and out of the data: whoever holds it can recompute pseudonyms and open the
crosswalk. Use it with --key-file FILE or the VEIL_KEY environment variable.`,
    )
    .action(async (flags: { hex?: boolean; out?: string }) => {
      await runCommand('keygen', () => {
        const key = Buffer.from(generateKey());
        const text = `${key.toString(flags.hex ? 'hex' : 'base64')}\n`;
        if (flags.out === undefined) {
          process.stdout.write(text);
          return 0;
        }
        try {
          writeFileSync(flags.out, text, { mode: 0o600, flag: 'wx' });
        } catch (e) {
          throw new CliError(
            EXIT_USAGE,
            `cannot create ${flags.out} (${(e as NodeJS.ErrnoException).code ?? 'error'})`,
          );
        }
        process.stderr.write(`veil keygen: key written to ${flags.out}\n`);
        return 0;
      });
    });
}
