/**
 * What the governance commands share (`veil consent`, `veil audit`, `veil deletion`, `veil portal`, `veil account`):
 * the configuration, its GovernanceStore (opened on the job store's database), the project key when needed, and the
 * actor name audited for a person at the command line (`cli:<login>`).
 *
 * Example:
 *   await withGovernance('consent set', flags.config, async ({ gov, key, actor }) => { ...; return 0; });
 */
import { createHash, randomInt } from 'node:crypto';
import { userInfo } from 'node:os';
import type { GovernanceStore } from '@veil/pipeline';
import { CliError, EXIT_USAGE, runCommand } from '../deid/cli-error.ts';
import type { LoadedServerConfig } from '../server/config.ts';

export interface GovernanceContext {
  readonly config: LoadedServerConfig;
  readonly gov: GovernanceStore;
  /** The project key (loaded on first use). */
  key(): Uint8Array;
  readonly actor: string;
}

export function cliActor(): string {
  let name = 'unknown';
  try {
    name = userInfo().username;
  } catch {
    // no passwd entry (containers)
  }
  return `cli:${name.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 64)}`;
}

export async function withGovernance(
  name: string,
  configFile: string,
  body: (ctx: GovernanceContext) => Promise<number>,
): Promise<void> {
  const [{ loadServerConfig, loadServerKey }, { openGovernanceStore }] = await Promise.all([
    import('../server/config.ts'),
    import('./runtime.ts'),
  ]);
  await runCommand(name, async () => {
    const config = loadServerConfig(configFile);
    const gov = await openGovernanceStore(config.server.store);
    await gov.init();
    let key: Uint8Array | undefined;
    try {
      return await body({
        config,
        gov,
        actor: cliActor(),
        key: () => {
          key ??= loadServerKey(config, (m) => process.stderr.write(`veil ${name}: ${m}\n`));
          return key;
        },
      });
    } finally {
      await gov.close();
    }
  });
}

/** A purpose of the configured vocabulary, or a usage error listing them. */
export function checkPurpose(config: LoadedServerConfig, purpose: string) {
  const p = config.server.governance.purposes.find((x) => x.name === purpose);
  if (!p) {
    const names = config.server.governance.purposes.map((x) => x.name).join(', ');
    throw new CliError(EXIT_USAGE, `unknown purpose (the configured purposes: ${names})`);
  }
  return p;
}

// Crockford's base32 without I, L, O, U: no look-alikes when read out or typed from paper.
const CODE_ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/** A one-time portal code: 12 symbols (60 bits) as XXXX-XXXX-XXXX. */
export function newPortalCode(): string {
  let s = '';
  for (let i = 0; i < 12; i++) s += CODE_ALPHABET[randomInt(CODE_ALPHABET.length)];
  return `${s.slice(0, 4)}-${s.slice(4, 8)}-${s.slice(8)}`;
}

/** The stored form of a code: SHA-256 of its normalised text (case, spaces and dashes ignored). */
export function portalCodeHash(code: string): string {
  const norm = code.toUpperCase().replace(/[\s-]/g, '').replace(/[IL]/g, '1').replace(/O/g, '0');
  return createHash('sha256').update(`veil-portal-code\0${norm}`).digest('hex');
}

/** The stored form of a vendor API token. */
export function vendorTokenHash(token: string): string {
  return createHash('sha256').update(`veil-vendor-token\0${token}`).digest('hex');
}
