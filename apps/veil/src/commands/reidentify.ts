/**
 * `veil reidentify`: prints the identity behind a pseudonym, from one of two crosswalks.
 *
 * - `--crosswalk FILE`: the SQLite crosswalk written by `veil deid --crosswalk`, with the key it was written with
 *   (--crosswalk-key-file, or the project key for an older one); every attempt is appended to the file's audit table.
 * - `--config gateway.yaml`: the crosswalk `veil serve` keeps in its store (SQLite or PostgreSQL; see
 *   governance/crosswalk.ts), sealed to crosswalk.publicKey and opened with its private key (--crosswalk-key-file or
 *   VEIL_CROSSWALK_KEY). The operator signs in with a console account (--account; the password from --password-file
 *   or VEIL_ACCOUNT_PASSWORD) whose role is admin or privacy-officer; every attempt, refused ones too, is appended to
 *   the gateway's hash-chained audit trail (event `reidentify`, actor `account:NAME`, no pseudonym or identity).
 */
import { readFileSync } from 'node:fs';
import { type Command, Option } from 'commander';
import { CliError, EXIT_CONFIG, EXIT_FAILURES, EXIT_USAGE, runCommand } from '../deid/cli-error.ts';
import type { CrosswalkKind } from '../deid/crosswalk.ts';
import { loadKey } from '../deid/keys.ts';
import type { GatewayCrosswalkKind } from '../governance/crosswalk.ts';

/** Exit code of a refused gateway re-identification (bad credentials or a role that may not). */
export const EXIT_REFUSED = 4;

interface Flags {
  crosswalk?: string;
  config?: string;
  keyFile?: string;
  crosswalkKeyFile?: string;
  kind?: GatewayCrosswalkKind;
  account?: string;
  passwordFile?: string;
}

function print(found: readonly { kind: string; original: string }[]): void {
  if (found.length === 1) process.stdout.write(`${found[0]!.original}\n`);
  else for (const f of found) process.stdout.write(`${f.kind}\t${f.original}\n`);
}

export function register(program: Command): void {
  program
    .command('reidentify')
    .description('Print the identity behind a pseudonym, from an encrypted crosswalk (audited)')
    .argument('<pseudonym>', 'a pseudonymous patient id, accession number or study/series/instance UID')
    .option('--crosswalk <file>', 'the crosswalk written by `veil deid --crosswalk`')
    .option('-c, --config <file>', "the gateway's configuration: its crosswalk in the store `veil serve` keeps")
    .option('--crosswalk-key-file <file>', "the crosswalk's own key (gateway: the X25519 private key, PEM)")
    .option('-k, --key-file <file>', 'the project key, for a crosswalk made without its own key; default: $VEIL_KEY')
    .option('--account <name>', 'gateway: the console account (role admin or privacy-officer) doing the lookup')
    .option('--password-file <file>', "gateway: the account's password (default: $VEIL_ACCOUNT_PASSWORD)")
    .addOption(
      new Option('--kind <kind>', 'only this kind of pseudonym').choices([
        'patientId',
        'accession',
        'studyUID',
        'seriesUID',
        'sopInstanceUID',
      ] satisfies GatewayCrosswalkKind[]),
    )
    .addHelpText(
      'after',
      `
Prints the original value (prefixed by its kind and a tab when the pseudonym matches more than one kind).
With --config, the gateway's crosswalk: the project key comes from the configuration, the crosswalk's private key
from --crosswalk-key-file or VEIL_CROSSWALK_KEY, and the lookup is on the gateway's audit chain.
Exit codes: 0 found, 1 not found, 2 usage error, 3 key or crosswalk error (audited), 4 refused (bad credentials or a
role other than admin / privacy-officer; audited).`,
    )
    .action(async (pseudonym: string, flags: Flags) => {
      if ((flags.crosswalk === undefined) === (flags.config === undefined)) {
        await runCommand('reidentify', () => {
          throw new CliError(
            EXIT_USAGE,
            'name one crosswalk: --crosswalk FILE (veil deid) or --config FILE (veil serve)',
          );
        });
        return;
      }
      if (flags.config !== undefined) {
        await gateway(pseudonym, flags.config, flags);
        return;
      }
      const { Crosswalk } = await import('../deid/crosswalk.ts');
      await runCommand('reidentify', () => {
        if (flags.kind === 'seriesUID' || flags.kind === 'sopInstanceUID') {
          throw new CliError(EXIT_USAGE, `--kind ${flags.kind}: only the gateway's crosswalk (--config) records it`);
        }
        const warn = (m: string): void => {
          process.stderr.write(`veil reidentify: ${m}\n`);
        };
        const separate = flags.crosswalkKeyFile !== undefined;
        const key = loadKey({ keyFile: separate ? flags.crosswalkKeyFile : flags.keyFile, warn });
        const cw = Crosswalk.open(flags.crosswalk!, key, {
          create: false,
          auditFailure: { pseudonym },
          keyKind: separate ? 'crosswalk' : 'project',
        });
        try {
          const found = cw.reidentify(pseudonym, flags.kind ? [flags.kind as CrosswalkKind] : undefined);
          if (found.length === 0) throw new CliError(EXIT_FAILURES, 'no entry for this pseudonym in the crosswalk');
          print(found);
          return 0;
        } finally {
          cw.close();
        }
      });
    });
}

async function gateway(pseudonym: string, configFile: string, flags: Flags): Promise<void> {
  const { withGovernance } = await import('../governance/cli.ts');
  const { loadCrosswalkPrivateKey, reidentifyInGateway } = await import('../governance/crosswalk.ts');
  await withGovernance('reidentify', configFile, async ({ config, gov, key, actor }) => {
    if (!config.server.crosswalk) {
      throw new CliError(EXIT_CONFIG, `config ${configFile}: no crosswalk (crosswalk.publicKey) is configured`);
    }
    if (flags.account === undefined) throw new CliError(EXIT_USAGE, '--account NAME is required with --config');
    let password: string | undefined;
    if (flags.passwordFile !== undefined) {
      try {
        password = readFileSync(flags.passwordFile, 'utf8').replace(/\r?\n$/, '');
      } catch (e) {
        throw new CliError(EXIT_CONFIG, `--password-file: cannot read (${(e as NodeJS.ErrnoException).code})`);
      }
    } else password = process.env.VEIL_ACCOUNT_PASSWORD;
    if (password === undefined || password === '') {
      throw new CliError(EXIT_USAGE, 'no password: pass --password-file or set VEIL_ACCOUNT_PASSWORD');
    }
    const outcome = await reidentifyInGateway({
      gov,
      projectKey: key,
      privateKey: () => loadCrosswalkPrivateKey({ file: flags.crosswalkKeyFile }),
      account: flags.account,
      password,
      pseudonym,
      kinds: flags.kind ? [flags.kind] : undefined,
      via: actor,
    });
    switch (outcome.kind) {
      case 'found':
        print(outcome.entries);
        return 0;
      case 'not-found':
        throw new CliError(EXIT_FAILURES, 'no entry for this pseudonym in the crosswalk');
      case 'refused':
        throw new CliError(
          EXIT_REFUSED,
          outcome.reason === 'role'
            ? 'refused: re-identification needs the role admin or privacy-officer (audited)'
            : 'refused: wrong account or password (audited)',
        );
      case 'failed':
        throw new CliError(
          EXIT_CONFIG,
          outcome.code === 'CROSSWALK_KEY_MISMATCH'
            ? `${outcome.code}: the row was sealed to another crosswalk key (audited)`
            : `${outcome.code}: a crosswalk row could not be opened (audited)`,
        );
    }
  });
}
