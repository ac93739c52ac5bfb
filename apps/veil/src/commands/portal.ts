/**
 * `veil portal invite`: a one-time access code for the patient portal (`/portal` on the server's HTTP port). The code
 * is printed as the last line of stdout, once; the store keeps only its hash and the patient key (never the ID). It
 * expires after portal.codeMinutes and works once.
 */
import type { Command } from 'commander';
import { CliError, EXIT_USAGE } from '../deid/cli-error.ts';

export function register(program: Command): void {
  const p = program.command('portal').description('The patient portal: one-time access codes');
  p.command('invite')
    .description('Print a one-time, expiring access code for one patient (audited)')
    .requiredOption('-c, --config <file>', 'the server configuration')
    .requiredOption('--patient-id <id>', 'the Patient ID (0010,0020)')
    .option('--issuer <issuer>', 'Issuer of Patient ID (0010,0021)', '')
    .action(async (flags: { config: string; patientId: string; issuer: string }) => {
      const { withGovernance, newPortalCode, portalCodeHash } = await import('../governance/cli.ts');
      const { patientKey } = await import('../governance/patient-key.ts');
      await withGovernance('portal invite', flags.config, async ({ config, gov, key, actor }) => {
        if (flags.patientId.trim() === '') throw new CliError(EXIT_USAGE, '--patient-id is empty');
        const now = Date.now();
        const expiresAt = now + config.server.portal.codeMinutes * 60_000;
        const code = newPortalCode();
        await gov.createInvite(
          portalCodeHash(code),
          patientKey(key(), flags.patientId, flags.issuer),
          expiresAt,
          actor,
          now,
        );
        if (!config.server.portal.enabled)
          process.stderr.write('note: portal.enabled is false in this configuration\n');
        process.stderr.write(`valid until ${new Date(expiresAt).toISOString()}, once\n`);
        process.stdout.write(`${code}\n`);
        return 0;
      });
    });
}
