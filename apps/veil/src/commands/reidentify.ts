/**
 * `veil reidentify`: looks a pseudonym up in an encrypted crosswalk and prints the identity behind it. Needs the key
 * the crosswalk was written with: its own key (--crosswalk-key-file; the pseudonym key is then not needed) or, for a
 * crosswalk made without one, the project key. Every attempt, successful or not, is appended to its audit table.
 */
import { type Command, Option } from 'commander';
import { CliError, EXIT_FAILURES, runCommand } from '../deid/cli-error.ts';
import type { CrosswalkKind } from '../deid/crosswalk.ts';
import { loadKey } from '../deid/keys.ts';

export function register(program: Command): void {
  program
    .command('reidentify')
    .description('Print the identity behind a pseudonym, from an encrypted crosswalk (audited)')
    .argument('<pseudonym>', 'a pseudonymous patient id, accession number or study UID')
    .requiredOption('--crosswalk <file>', 'the crosswalk written by `veil deid --crosswalk`')
    .option('--crosswalk-key-file <file>', "the crosswalk's own key (when it was made with --crosswalk-key-file)")
    .option('-k, --key-file <file>', 'the project key, for a crosswalk made without its own key; default: $VEIL_KEY')
    .addOption(
      new Option('--kind <kind>', 'only this kind of pseudonym').choices([
        'patientId',
        'accession',
        'studyUID',
      ] satisfies CrosswalkKind[]),
    )
    .addHelpText(
      'after',
      `
Prints the original value (prefixed by its kind and a tab when the pseudonym matches more than one kind).
Exit codes: 0 found, 1 not found, 2 usage error, 3 key or crosswalk error (a wrong key is audited as a failure).`,
    )
    .action(
      async (
        pseudonym: string,
        flags: { crosswalk: string; keyFile?: string; crosswalkKeyFile?: string; kind?: CrosswalkKind },
      ) => {
        const { Crosswalk } = await import('../deid/crosswalk.ts');
        await runCommand('reidentify', () => {
          const warn = (m: string): void => {
            process.stderr.write(`veil reidentify: ${m}\n`);
          };
          const separate = flags.crosswalkKeyFile !== undefined;
          const key = loadKey({ keyFile: separate ? flags.crosswalkKeyFile : flags.keyFile, warn });
          const cw = Crosswalk.open(flags.crosswalk, key, {
            create: false,
            auditFailure: { pseudonym },
            keyKind: separate ? 'crosswalk' : 'project',
          });
          try {
            const found = cw.reidentify(pseudonym, flags.kind ? [flags.kind] : undefined);
            if (found.length === 0) throw new CliError(EXIT_FAILURES, 'no entry for this pseudonym in the crosswalk');
            if (found.length === 1) process.stdout.write(`${found[0]!.original}\n`);
            else for (const f of found) process.stdout.write(`${f.kind}\t${f.original}\n`);
            return 0;
          } finally {
            cw.close();
          }
        });
      },
    );
}
