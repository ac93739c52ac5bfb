/**
 * `veil init DIR`: a first gateway in one command. Writes DIR/gateway.yaml (complete and commented: a folder inbox,
 * two folder destinations under contracts, one for clinical AI and one for research, the console and the portal on
 * the loopback HTTP port), a new project key (0600), an Ed25519 key pair for signed audit checkpoints (private key
 * 0600), the folders, and an `admin` console account whose password is printed once (the store keeps a scrypt
 * hash). `veil serve --config DIR/gateway.yaml` runs it as is.
 *
 * `veil account set NAME --role ROLE --config FILE` adds or changes a console account (password printed once).
 */
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { CliError, EXIT_USAGE, runCommand } from '../deid/cli-error.ts';
import { generateKey } from '../deid/keys.ts';

function parsePort(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1 || n > 65_535) throw new InvalidArgumentError('a port from 1 to 65535');
  return n;
}

export function gatewayYaml(o: { port: number; facility: string; created: string }): string {
  return `# Veil gateway configuration, written by \`veil init\` on ${o.created}.
# Run it:   veil serve --config gateway.yaml
# Format:   apps/veil/src/server/README.md in the Veil repository. Paths are relative to this file.

# Veil's own durable folder: received files, de-identified outputs, quarantine.
spool: ./spool
# Job state, consent registry, audit trail, accounts: one SQLite file (PostgreSQL for scale-out).
store: { kind: sqlite, path: ./veil.db }
queue: { kind: embedded }
# The project key (mode 0600): makes the pseudonyms and the patient keys of the consent registry. Back it up and
# never share it: with it, pseudonyms can be recomputed.
key: { file: ./veil.key }
# De-identification: without a \`deid\` setting, the PS3.15 Basic Application Level Confidentiality Profile with no
# options (the strictest standard choice). To change it, point to a \`veil deid\` configuration:
# deid: ./deid.config.json

ingress:
  # Put DICOM files here (copy, then they are taken once unchanged for settleMs and leave the folder).
  - { name: inbox, kind: folder, path: ./inbox, pollMs: 500, settleMs: 500 }

# Where de-identified copies go, each under a contract (shown to patients on /privacy and in the portal).
# purpose: one of governance.purposes; patients may opt out of every purpose but clinical-ai (part of their care).
# region: where the vendor keeps the data (checked against governance.regions at start-up).
# retentionDays / confirmDeletion: the vendor deletes after this many days and confirms it (\`veil deletion confirm\`).
destinations:
  - name: clinical-ai
    kind: folder
    path: ./out/clinical-ai
    purpose: clinical-ai
    legalBasis: treatment
    vendor: Example Clinical AI Ltd
    contract: DPA-CLINICAL-0001 (replace with your contract reference)
    region: on-premises
    retentionDays: 30
    confirmDeletion: true
  - name: research
    kind: folder
    path: ./out/research
    purpose: research
    legalBasis: consent
    vendor: Example Research Institute
    contract: DPA-RESEARCH-0001 (replace with your contract reference)
    region: on-premises
    retentionDays: 365
    confirmDeletion: true

governance:
  facility: { name: ${JSON.stringify(o.facility)} }
  # Data localisation: the gateway refuses to start if a destination is outside these regions.
  regions: { allowed: [on-premises] }
  # purposes: the default vocabulary is clinical-ai, quality-improvement, research, commercial-ai-training (sent
  # only with an opt-in) and education; list your own here to change it.

# Signed checkpoints of the hash-chained audit trail (\`veil audit verify --config gateway.yaml\`). Keep the signing
# key off worker machines in a scaled-out deployment; only the ingress process reads it.
audit: { signingKey: ./audit-signing.pem, publicKey: ./audit-public.pem, checkpointSeconds: 300 }

# Operators' console at http://127.0.0.1:${o.port}/console (user admin; password printed once by veil init;
# more accounts: veil account set NAME --role operator --config gateway.yaml).
console: { enabled: true }
# Patient portal at http://127.0.0.1:${o.port}/portal (codes: veil portal invite --config gateway.yaml --patient-id ID).
portal: { enabled: true, codeMinutes: 10080, sessionMinutes: 30 }
# Health, metrics, console, portal and the privacy fact sheet (/privacy). Loopback only: put a TLS proxy in front,
# or set http.tls, before opening it to the network.
http: { host: 127.0.0.1, port: ${o.port} }

studies: { stableAfterSeconds: 60 }
`;
}

export function register(program: Command): void {
  program
    .command('init')
    .description('Write a complete, commented gateway configuration and what it needs into DIR (a first run)')
    .argument('<dir>', 'a new or empty folder')
    .option('--port <port>', 'the loopback HTTP port of the console, portal and metrics', parsePort, 9464)
    .option('--facility <name>', 'the facility name shown to patients', 'This facility')
    .action(async (dirArg: string, flags: { port: number; facility: string }) => {
      const { SqliteGovernanceStore } = await import('@veil/store-sqlite');
      const { hashPassword, newPassword } = await import('../governance/passwords.ts');
      const { cliActor } = await import('../governance/cli.ts');
      await runCommand('init', async () => {
        const dir = resolve(dirArg);
        if (existsSync(dir) && readdirSync(dir).length > 0) {
          throw new CliError(EXIT_USAGE, `${dirArg} is not empty; init writes only into a new or empty folder`);
        }
        for (const d of ['inbox', 'spool', 'out/clinical-ai', 'out/research']) {
          mkdirSync(join(dir, d), { recursive: true });
        }
        writeFileSync(join(dir, 'veil.key'), `${Buffer.from(generateKey()).toString('base64')}\n`, {
          mode: 0o600,
          flag: 'wx',
        });
        const { privateKey, publicKey } = generateKeyPairSync('ed25519');
        writeFileSync(join(dir, 'audit-signing.pem'), privateKey.export({ type: 'pkcs8', format: 'pem' }), {
          mode: 0o600,
          flag: 'wx',
        });
        writeFileSync(join(dir, 'audit-public.pem'), publicKey.export({ type: 'spki', format: 'pem' }), { flag: 'wx' });
        const yaml = gatewayYaml({ port: flags.port, facility: flags.facility, created: new Date().toISOString() });
        writeFileSync(join(dir, 'gateway.yaml'), yaml, { flag: 'wx' });
        const password = newPassword();
        const gov = new SqliteGovernanceStore(join(dir, 'veil.db'));
        await gov.init();
        try {
          await gov.putAccount(
            { name: 'admin', role: 'admin', passwordHash: await hashPassword(password) },
            cliActor(),
            Date.now(),
          );
        } finally {
          await gov.close();
        }
        process.stdout.write(
          `wrote ${join(dirArg, 'gateway.yaml')}, veil.key (0600), audit-signing.pem (0600), audit-public.pem\n` +
            `run:      veil serve --config ${join(dirArg, 'gateway.yaml')}\n` +
            `console:  http://127.0.0.1:${flags.port}/console  (user admin)\n` +
            `portal:   http://127.0.0.1:${flags.port}/portal   privacy fact sheet: http://127.0.0.1:${flags.port}/privacy\n` +
            'the admin password is shown once, now:\n' +
            `admin password: ${password}\n`,
        );
        return 0;
      });
    });

  program
    .command('account')
    .description('Console accounts')
    .command('set')
    .description('Add or change a console account; a new password is printed once (last line)')
    .argument('<name>', 'account name')
    .requiredOption('-c, --config <file>', 'the server configuration')
    .addOption(
      new Option('--role <role>', 'what it may do')
        .choices(['admin', 'privacy-officer', 'operator'])
        .makeOptionMandatory(),
    )
    .action(async (name: string, flags: { config: string; role: 'admin' | 'privacy-officer' | 'operator' }) => {
      const { withGovernance } = await import('../governance/cli.ts');
      const { hashPassword, newPassword } = await import('../governance/passwords.ts');
      await withGovernance('account set', flags.config, async ({ gov, actor }) => {
        if (!/^[A-Za-z0-9_.-]{1,64}$/.test(name))
          throw new CliError(EXIT_USAGE, 'account names: letters, digits, . _ -');
        const password = newPassword();
        await gov.putAccount({ name, role: flags.role, passwordHash: await hashPassword(password) }, actor, Date.now());
        process.stdout.write(`${password}\n`);
        return 0;
      });
    });
}
