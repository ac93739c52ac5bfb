/** `veil deid`: de-identify DICOM files and folders into an output folder (see deid/run.ts). */
import { type Command, InvalidArgumentError } from 'commander';
import { runCommand } from '../deid/cli-error.ts';

function parseJobs(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1 || n > 256) throw new InvalidArgumentError('a whole number from 1 to 256');
  return n;
}

function parseHeapMb(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 64 || n > 65_536)
    throw new InvalidArgumentError('a whole number of MiB from 64 to 65536');
  return n;
}

interface DeidFlags {
  out?: string;
  config?: string;
  keyFile?: string;
  jobs?: number;
  threadHeapMb?: number;
  inline?: boolean;
  dryRun?: boolean;
  crosswalk?: string;
  crosswalkKeyFile?: string;
  quarantine?: string;
  report?: string;
  progress: boolean;
}

export function register(program: Command): void {
  program
    .command('deid')
    .description('De-identify DICOM files and folders (PS3.15 Basic Application Level Confidentiality Profile)')
    .argument('<input...>', 'DICOM files and folders (walked recursively; never written to)')
    .option('-o, --out <dir>', 'output folder (must not be inside an input)')
    .option('-c, --config <file>', 'configuration, .json or .yaml (default: Basic Profile, no options)')
    .option('-k, --key-file <file>', 'file holding the secret key (base64 or hex); default: $VEIL_KEY')
    .option('-j, --jobs <n>', 'worker threads (default: number of cores)', parseJobs)
    .option(
      '--thread-heap-mb <n>',
      'V8 heap cap per worker thread in MiB; a file that exhausts it is quarantined WORKER_CRASHED (default 1024)',
      parseHeapMb,
    )
    .option('--inline', 'run on the main thread with no heap cap (profiling, debugging): a hostile file can exhaust it')
    .option('--dry-run', 'print what would change in each file (values masked); write nothing')
    .option('--crosswalk <file>', 'also record pseudonym -> identity in this encrypted SQLite file')
    .option(
      '--crosswalk-key-file <file>',
      "the crosswalk's own key (veil keygen), separate from the pseudonym key: recommended",
    )
    .option('--quarantine <dir>', 'where files that cannot be de-identified are copied (default: <out>.quarantine)')
    .option('--report <dir>', 'where veil-report.json and veil-report.html go (default: <out>)')
    .option('--no-progress', 'no progress bar or progress lines')
    .addHelpText(
      'after',
      `
Burned-in text: every image is scanned (OCR text detector, every frame) and each text line found is filled; the
output then states Burned In Annotation NO and CID 7050 113101. An image Veil cannot decode or scan is quarantined
(PIXELS_UNSUPPORTED_ENCODING, PIXELS_DECODE_FAILED...) unless pixels.text.pass names its SOP class or modality.
Off only by choice: pixels: { text: { enabled: false } } (then nothing is claimed clean).

Exit codes: 0 all files written (non-DICOM files skipped), 1 some files quarantined or failed, 2 usage error,
3 configuration or key error.

Example:
  veil keygen --out veil.key
  veil deid samples --out /tmp/veil-out --key-file veil.key --config samples/deid.config.json`,
    )
    .action(async (inputs: string[], flags: DeidFlags) => {
      // Loaded on use: the core, SQLite and the worker pool are not needed for `veil --help` or other commands.
      const { runDeid } = await import('../deid/run.ts');
      await runCommand('deid', () =>
        runDeid({
          inputs,
          out: flags.out,
          config: flags.config,
          keyFile: flags.keyFile,
          jobs: flags.jobs,
          threadHeapMb: flags.threadHeapMb,
          inline: flags.inline === true,
          dryRun: flags.dryRun === true,
          crosswalk: flags.crosswalk,
          crosswalkKeyFile: flags.crosswalkKeyFile,
          quarantine: flags.quarantine,
          report: flags.report,
          progress: flags.progress,
        }),
      );
    });
}
