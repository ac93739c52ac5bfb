/**
 * `veil deletion confirm|overdue|token`: vendors' confirmations that their copies are deleted once a contract's
 * retention ran out. confirm records one (audited); overdue lists what is late; token makes an API token for a
 * vendor, who then confirms with `POST /api/vendor/deletions` (Authorization: Bearer TOKEN).
 */
import type { Command } from 'commander';
import { CliError, EXIT_USAGE } from '../deid/cli-error.ts';

export function register(program: Command): void {
  const d = program.command('deletion').description("Vendors' deletion confirmations under destination contracts");

  d.command('confirm')
    .description('Record that a vendor deleted its copies: given jobs, everything released up to a time, or all')
    .requiredOption('-c, --config <file>', 'the server configuration')
    .requiredOption('--destination <name>', 'the destination (contract) the vendor receives through')
    .option('--job <id...>', 'job ids')
    .option('--released-before <iso>', 'everything released at or before this time (ISO 8601)')
    .option('--all', 'everything delivered to the destination')
    .action(
      async (flags: {
        config: string;
        destination: string;
        job?: string[];
        releasedBefore?: string;
        all?: boolean;
      }) => {
        const { withGovernance } = await import('../governance/cli.ts');
        await withGovernance('deletion confirm', flags.config, async ({ config, gov, actor }) => {
          if (!config.server.destinations.some((x) => x.name === flags.destination)) {
            throw new CliError(EXIT_USAGE, 'no such destination in the configuration');
          }
          const picked = [flags.job, flags.releasedBefore, flags.all].filter((x) => x !== undefined).length;
          if (picked !== 1) throw new CliError(EXIT_USAGE, 'say exactly one of --job, --released-before, --all');
          let releasedBefore: number | undefined;
          if (flags.releasedBefore !== undefined) {
            releasedBefore = Date.parse(flags.releasedBefore);
            if (Number.isNaN(releasedBefore)) throw new CliError(EXIT_USAGE, '--released-before: not an ISO 8601 time');
          }
          const n = await gov.confirmDeletion(
            {
              destination: flags.destination,
              ...(flags.job ? { jobIds: flags.job } : {}),
              ...(releasedBefore !== undefined ? { releasedBefore } : {}),
            },
            actor,
            Date.now(),
          );
          process.stdout.write(`${n} deletion(s) confirmed\n`);
          return 0;
        });
      },
    );

  d.command('overdue')
    .description('Deliveries whose retention ran out without a deletion confirmation')
    .requiredOption('-c, --config <file>', 'the server configuration')
    .action(async (flags: { config: string }) => {
      const { withGovernance } = await import('../governance/cli.ts');
      await withGovernance('deletion overdue', flags.config, async ({ gov }) => {
        const rows = await gov.listReleases({ overdueAt: Date.now() });
        for (const r of rows) {
          process.stdout.write(
            `${r.jobId} ${r.destination} ${r.vendor ?? '-'} expired ${new Date(r.expiresAt ?? 0).toISOString()}\n`,
          );
        }
        process.stderr.write(`${rows.length} overdue\n`);
        return 0;
      });
    });

  d.command('token')
    .description("Make an API token for a destination's vendor (printed once, as the last line; stored hashed)")
    .requiredOption('-c, --config <file>', 'the server configuration')
    .requiredOption('--destination <name>', 'the destination')
    .action(async (flags: { config: string; destination: string }) => {
      const { withGovernance, vendorTokenHash } = await import('../governance/cli.ts');
      const { randomBytes } = await import('node:crypto');
      await withGovernance('deletion token', flags.config, async ({ config, gov, actor }) => {
        if (!config.server.destinations.some((x) => x.name === flags.destination)) {
          throw new CliError(EXIT_USAGE, 'no such destination in the configuration');
        }
        const token = randomBytes(32).toString('base64url');
        await gov.putVendorToken(vendorTokenHash(token), flags.destination, actor, Date.now());
        process.stderr.write('the token is shown once; give it to the vendor over a secure channel\n');
        process.stdout.write(`${token}\n`);
        return 0;
      });
    });
}
