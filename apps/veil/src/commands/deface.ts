/** `veil deface`: remove the face from head CT and MR series (see deface/run.ts). */
import type { Command } from 'commander';
import { runCommand } from '../deid/cli-error.ts';

interface DefaceFlags {
  out?: string;
  quarantine?: string;
  report?: string;
  showBefore?: boolean;
  blur?: boolean;
}

export function register(program: Command): void {
  program
    .command('deface')
    .description('Remove the face from head CT and MR series (native pixel data); everything else stays byte-identical')
    .argument('<input...>', 'DICOM files and folders (walked recursively; never written to)')
    .option('-o, --out <dir>', 'output folder (must not be inside an input)')
    .option('--quarantine <dir>', 'where series that cannot be defaced are copied (default: <out>.quarantine)')
    .option('--report <dir>', 'where veil-deface.json, veil-deface.html and the pictures go (default: <out>)')
    .option('--show-before', 'also write the before picture of each defaced series (it shows the face)')
    .option('--blur', 'blur the face region (24 mm Gaussian, verified like a removal) instead of removing it')
    .addHelpText(
      'after',
      `
Each series (Series Instance UID + Frame of Reference) is assembled into a volume. With a face in the field of view
the face region becomes air (CT) or background (MR), the files get Recognizable Visual Features NO and code 113102,
and the output is checked again; a head without a face (vertex to skull base) is copied unchanged; a series where
Veil cannot decide is quarantined (DEFACE_UNCERTAIN), as is compressed pixel data (DEFACE_COMPRESSED).

Exit codes: 0 every series written, 1 some series quarantined, 2 usage error.

Example:
  veil deface head-mr/ --out /tmp/defaced`,
    )
    .action(async (inputs: string[], flags: DefaceFlags) => {
      const { runDeface } = await import('../deface/run.ts');
      await runCommand('deface', async () => {
        const { exitCode } = await runDeface({
          inputs,
          out: flags.out,
          quarantine: flags.quarantine,
          report: flags.report,
          showBefore: flags.showBefore === true,
          mode: flags.blur === true ? 'blur' : 'remove',
          log: (line) => process.stderr.write(`veil deface: ${line}\n`),
        });
        return exitCode;
      });
    });
}
