/** `veil pull`: pull studies from a PACS or DICOMweb server by list, de-identify, deliver (see pull/run.ts). */
import { type Command, InvalidArgumentError } from 'commander';
import { runCommand } from '../deid/cli-error.ts';

function parsePort(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1 || n > 65_535) throw new InvalidArgumentError('a port from 1 to 65535');
  return n;
}

function parsePositive(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('a positive number');
  return n;
}

interface PullFlags {
  from: string;
  list: string;
  to: string;
  toConfig?: string;
  keyFile?: string;
  config?: string;
  crosswalk?: string;
  work: string;
  callingAe: string;
  moveAe?: string;
  movePort?: number;
  moveHost?: string;
  get?: boolean;
  fromTokenFile?: string;
  timeout: number;
  keepWork?: boolean;
  jobs?: string;
}

export function register(program: Command): void {
  program
    .command('pull')
    .description('Pull studies listed in a CSV from a PACS or DICOMweb server, de-identify them, and deliver them')
    .requiredOption('--from <source>', 'AE@host:port (C-FIND + C-MOVE/C-GET) or an http(s) DICOMweb base URL')
    .requiredOption(
      '--list <csv>',
      'CSV with a header and any of AccessionNumber, PatientID, StudyDate (date or range), StudyInstanceUID',
    )
    .requiredOption(
      '--to <target>',
      'a folder, dicom://AE@host:port, an http(s) STOW-RS base URL, or s3://bucket/prefix',
    )
    .option(
      '--to-config <file>',
      'JSON with more settings of the target (s3: {endpoint, credentialsFile}, auth, tls...)',
    )
    .option('-k, --key-file <file>', 'the project key; default: $VEIL_KEY')
    .option('-c, --config <file>', 'de-identification configuration, as for veil deid')
    .option('--crosswalk <file>', 'record pseudonym -> identity in this encrypted SQLite file, as veil deid does')
    .option(
      '--work <dir>',
      'work folder: state, retrieved originals (removed when done), outputs, reports',
      'veil-pull',
    )
    .option('--calling-ae <title>', "Veil's AE title towards the PACS and the C-STORE target", 'VEIL')
    .option('--move-ae <title>', 'C-MOVE destination AE title (the PACS must know it as this host and --move-port)')
    .option('--move-port <n>', 'port of the storage SCP that receives the C-MOVE', parsePort)
    .option('--move-host <addr>', 'address the storage SCP binds', '127.0.0.1')
    .option('--get', 'retrieve with C-GET on the query association instead of C-MOVE')
    .option('--from-token-file <file>', 'bearer token for a DICOMweb --from')
    .option('--timeout <seconds>', 'network timeout', parsePositive, 60)
    .option('--keep-work', 'keep the retrieved originals in the work folder')
    .option('-j, --jobs <n>', 'de-identification worker threads')
    .addHelpText(
      'after',
      `
Resumable: run the same command again after a crash; rows already retrieved and instances already delivered are
skipped (the state is <work>/pull-state.json). Rows are named by line number in progress and reports, never by value.

Exit codes: 0 every row found and every output delivered, 1 some row not found or failed, some file quarantined or
not delivered (see <work>/pull-report.json), 2 usage error, 3 configuration or key error.

Example:
  veil pull --from PACS@10.0.0.5:104 --move-ae VEIL --move-port 11113 --list studies.csv --key-file veil.key \\
    --to https://ai.example/dicom-web --to-config vendor.json`,
    )
    .action(async (flags: PullFlags) => {
      const { runPull } = await import('../pull/run.ts');
      await runCommand('pull', () =>
        runPull({
          from: flags.from,
          list: flags.list,
          to: flags.to,
          toConfig: flags.toConfig,
          keyFile: flags.keyFile,
          config: flags.config,
          crosswalk: flags.crosswalk,
          work: flags.work,
          callingAe: flags.callingAe,
          moveAe: flags.moveAe,
          movePort: flags.movePort,
          moveHost: flags.moveHost,
          get: flags.get === true,
          fromTokenFile: flags.fromTokenFile,
          timeoutSeconds: flags.timeout,
          keepWork: flags.keepWork === true,
          jobs: flags.jobs === undefined ? undefined : Number(flags.jobs),
        }),
      );
    });
}
