/**
 * Errors that end a command with a defined exit code (see cli.ts): the message is shown to the user as is, so it
 * must never hold a value read from a DICOM file, a key or a crosswalk.
 */
export const EXIT_OK = 0;
/** Some inputs were quarantined or failed. */
export const EXIT_FAILURES = 1;
export const EXIT_USAGE = 2;
/** Configuration or key error. */
export const EXIT_CONFIG = 3;

export class CliError extends Error {
  constructor(
    readonly exitCode: number,
    message: string,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** Runs a command body; a CliError prints `veil <command>: <message>` and sets the exit code. */
export async function runCommand(name: string, body: () => Promise<number> | number): Promise<void> {
  try {
    process.exitCode = await body();
  } catch (e) {
    if (e instanceof CliError) {
      process.stderr.write(`veil ${name}: ${e.message}\n`);
      process.exitCode = e.exitCode;
      return;
    }
    process.stderr.write(`veil ${name}: internal error: ${describeError(e)}\n`);
    process.exitCode = EXIT_INTERNAL;
  }
}

export const EXIT_INTERNAL = 70;

/**
 * Names an unexpected error without its message (which might quote a value): the error class and code, or the full
 * stack when VEIL_DEBUG=1 is set on a machine where seeing values is acceptable.
 */
export function describeError(e: unknown): string {
  if (process.env.VEIL_DEBUG === '1' && e instanceof Error) return e.stack ?? e.message;
  if (e instanceof Error) {
    const code = (e as { code?: unknown }).code;
    return typeof code === 'string' ? `${e.name} ${code}` : e.name;
  }
  return typeof e;
}
