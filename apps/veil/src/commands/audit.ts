/**
 * `veil audit verify|checkpoint|report|keygen`: the tamper-evident audit trail. verify re-computes the hash chain and
 * checks the signed checkpoints (exit 0 intact, 1 not, naming the position of the first problem); checkpoint signs
 * the head now (needs audit.signingKey); report exports what went to a vendor, when, under which contract (CSV or
 * JSON); keygen writes an Ed25519 key pair for the checkpoints (private key 0600).
 */
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { type Command, Option } from 'commander';
import { CliError, EXIT_CONFIG, EXIT_USAGE, runCommand } from '../deid/cli-error.ts';

function csvCell(v: unknown): string {
  const s = v === null || v === undefined ? '' : String(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

const iso = (t: number | null): string | null => (t === null ? null : new Date(t).toISOString());

export function register(program: Command): void {
  const a = program.command('audit').description('The hash-chained audit trail: verify, checkpoint, vendor reports');

  a.command('verify')
    .description('Re-compute the chain and check the signed checkpoints; exit 0 when intact, 1 when not')
    .requiredOption('-c, --config <file>', 'the server configuration (names the store and audit.publicKey)')
    .option('--json', 'the report as JSON')
    .action(async (flags: { config: string; json?: boolean }) => {
      const { withGovernance } = await import('../governance/cli.ts');
      const { verifyChain } = await import('@veil/pipeline');
      await withGovernance('audit verify', flags.config, async ({ config, gov }) => {
        const pubFile = config.server.audit.publicKey;
        let pub: string | undefined;
        if (pubFile !== undefined) {
          try {
            pub = readFileSync(pubFile, 'utf8');
          } catch (e) {
            throw new CliError(EXIT_CONFIG, `audit.publicKey: cannot read (${(e as NodeJS.ErrnoException).code})`);
          }
        }
        const report = await verifyChain(gov.auditPages(), await gov.listCheckpoints(), pub);
        if (flags.json) process.stdout.write(`${JSON.stringify(report)}\n`);
        else if (report.ok) {
          process.stdout.write(
            `audit chain intact: ${report.events} event(s), head ${report.head?.seq ?? 0}, ${report.checkpoints} signed checkpoint(s)${report.lastCheckpoint ? `, the last at event ${report.lastCheckpoint.seq}` : ''}\n`,
          );
        } else {
          const first = report.problems[0]!;
          process.stdout.write(`audit chain BROKEN at event ${first.seq}: ${first.code}: ${first.message}\n`);
          for (const p of report.problems.slice(1, 20)) process.stdout.write(`  also ${p.code}: ${p.message}\n`);
        }
        return report.ok ? 0 : 1;
      });
    });

  a.command('checkpoint')
    .description('Sign the head of the chain now with audit.signingKey')
    .requiredOption('-c, --config <file>', 'the server configuration')
    .action(async (flags: { config: string }) => {
      const { withGovernance } = await import('../governance/cli.ts');
      const { checkpointNow, loadSigningKey } = await import('../governance/runtime.ts');
      await withGovernance('audit checkpoint', flags.config, async ({ config, gov }) => {
        const key = loadSigningKey(config);
        if (!key) throw new CliError(EXIT_CONFIG, 'no audit.signingKey in the configuration');
        const seq = await checkpointNow(gov, key, Date.now());
        process.stdout.write(seq === undefined ? 'nothing new to sign\n' : `signed checkpoint at event ${seq}\n`);
        return 0;
      });
    });

  a.command('report')
    .description('What was sent to a vendor, when, under which contract: CSV or JSON on stdout')
    .requiredOption('-c, --config <file>', 'the server configuration')
    .option('--vendor <vendor>', 'only this vendor (as in destinations[].vendor)')
    .option('--destination <name>', 'only this destination')
    .addOption(new Option('--format <format>', 'output format').choices(['csv', 'json']).default('csv'))
    .action(async (flags: { config: string; vendor?: string; destination?: string; format: 'csv' | 'json' }) => {
      const { withGovernance } = await import('../governance/cli.ts');
      await withGovernance('audit report', flags.config, async ({ gov }) => {
        const rows = (
          await gov.listReleases({
            ...(flags.vendor !== undefined ? { vendor: flags.vendor } : {}),
            ...(flags.destination !== undefined ? { destination: flags.destination } : {}),
          })
        ).map((r) => ({
          jobId: r.jobId,
          destination: r.destination,
          vendor: r.vendor,
          contract: r.contract,
          purpose: r.purpose,
          region: r.region,
          releasedAt: iso(r.releasedAt),
          state: r.deliveryState,
          deliveredAt: iso(r.deliveredAt),
          retentionDays: r.retentionDays,
          expiresAt: iso(r.expiresAt),
          confirmDeletion: r.confirmDeletion,
          deletionConfirmedAt: iso(r.deletedAt),
          deletionConfirmedBy: r.deletedBy,
        }));
        if (flags.format === 'json') process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
        else {
          const cols = [
            'jobId',
            'destination',
            'vendor',
            'contract',
            'purpose',
            'region',
            'releasedAt',
            'state',
            'deliveredAt',
            'retentionDays',
            'expiresAt',
            'confirmDeletion',
            'deletionConfirmedAt',
            'deletionConfirmedBy',
          ] as const;
          process.stdout.write(`${cols.join(',')}\n`);
          for (const r of rows) process.stdout.write(`${cols.map((c) => csvCell(r[c])).join(',')}\n`);
        }
        return 0;
      });
    });

  a.command('keygen')
    .description('Write an Ed25519 key pair for the signed checkpoints (private key mode 0600)')
    .requiredOption('--private <file>', 'where to write the private key (audit.signingKey)')
    .requiredOption('--public <file>', 'where to write the public key (audit.publicKey)')
    .action(async (flags: { private: string; public: string }) => {
      await runCommand('audit keygen', () => {
        for (const f of [flags.private, flags.public]) {
          if (existsSync(f)) throw new CliError(EXIT_USAGE, `${f} exists; not overwritten`);
        }
        const { privateKey, publicKey } = generateKeyPairSync('ed25519');
        writeFileSync(flags.private, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600, flag: 'wx' });
        writeFileSync(flags.public, publicKey.export({ type: 'spki', format: 'pem' }), { mode: 0o644, flag: 'wx' });
        process.stdout.write(`wrote ${flags.private} (0600) and ${flags.public}\n`);
        return 0;
      });
    });
}
