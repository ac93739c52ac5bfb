/** `veil verify`: scan de-identified files for residual PHI before release (see verify/run.ts). */

import { DETECTORS } from '@veil/core';
import type { Command } from 'commander';
import { runCommand } from '../deid/cli-error.ts';
import { runVerify } from '../verify/run.ts';

interface VerifyFlags {
  originals?: string;
  config?: string;
  keyFile?: string;
  json?: boolean;
  report?: string;
}

function detectorHelp(): string {
  return Object.entries(DETECTORS)
    .map(([name, d]) => `  ${name.padEnd(24)}${d.level.padEnd(7)}${d.about}`)
    .join('\n');
}

export function register(program: Command): void {
  program
    .command('verify')
    .description(
      'Scan de-identified DICOM files for residual PHI (names, IDs, dates, UIDs, private tags...) before release',
    )
    .argument('<input...>', 'de-identified DICOM files and folders (walked recursively; never written to)')
    .option(
      '--originals <dir>',
      'the folder the inputs were de-identified from: enables the known-value, date and UID checks',
    )
    .option(
      '-c, --config <file>',
      'the configuration the outputs were made with, .json or .yaml (with its verify section)',
    )
    .option(
      '-k, --key-file <file>',
      'the project key: matches originals by remapped SOP Instance UID; default: $VEIL_KEY',
    )
    .option('--json', 'print one JSON object per finding')
    .option('--report <dir>', 'write verify-report.json and verify-report.html there')
    .addHelpText(
      'after',
      `
Originals are matched by relative path (mirror layout), or with a key by remapped SOP Instance UID (hierarchy
layout). Values are always masked ('D****** D*******', '<9 chars>'); paths are printed as given.

Pixels: every image is scanned again for burned-in text (detector pixel-text: VERIFY_PIXEL_TEXT, error); an image
Veil cannot decode is an error with its code (PIXELS_UNSUPPORTED_ENCODING...), a warning PIXELS_PASSED_UNSCANNED
when the config's pixels.text.pass names it. Off with pixels.text.enabled: false (or pixels.text.verify: false).

Detectors (default level; a config's verify.detectors may set error, warn or off):
${detectorHelp()}

Exit codes: 0 no error-level finding, 1 some file must not be released, 2 usage error, 3 configuration or key error.

Example:
  veil verify /tmp/veil-out --originals samples --key-file veil.key --config samples/deid.config.json --report /tmp/r`,
    )
    .action(async (inputs: string[], flags: VerifyFlags) => {
      await runCommand('verify', () =>
        runVerify({
          inputs,
          originals: flags.originals,
          config: flags.config,
          keyFile: flags.keyFile,
          json: flags.json === true,
          report: flags.report,
        }),
      );
    });
}
