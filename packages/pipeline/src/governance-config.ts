/**
 * Governance settings of the gateway configuration: the purposes of use (a configurable vocabulary), the contract
 * keys every destination can carry (purpose, legal basis, vendor, contract, region, retention, deletion
 * confirmation), the region policy (data localisation), the audit checkpoint keys, the console and the portal.
 * validateGovernance() runs inside parseServerConfig: an unknown purpose, a route and destination that disagree on
 * the purpose, or a destination in a region the policy forbids (or outside the allowed ones, or with no region while
 * the policy lists allowed ones) is a ConfigError, so `veil serve` refuses to start.
 *
 * Example (YAML):
 *   governance:
 *     facility: { name: St Example Hospital, contact: privacy@example.org }
 *     regions: { allowed: [eu-west] }
 *   destinations:
 *     - { name: lab, kind: folder, path: ./out, purpose: research, legalBasis: consent, vendor: Acme AI,
 *         contract: ACME-2026-01, region: eu-west, retentionDays: 30, confirmDeletion: true }
 */
import { z } from 'zod';

const NAME = /^[A-Za-z0-9_.-]{1,64}$/;
const name = z.string().regex(NAME, 'letters, digits, ".", "_" or "-" (at most 64)');
const text = z.string().min(1).max(300);
const region = z.string().regex(/^[a-z0-9][a-z0-9-]{0,31}$/, 'a region code: lowercase letters, digits, "-"');

export interface PurposeDefinition {
  readonly name: string;
  /** Plain language, for the portal and the fact sheet. */
  readonly label: string;
  /** Nothing goes to a destination of this purpose unless the patient opted in. */
  readonly requiresOptIn: boolean;
  /** Whether patients may opt out (false: part of care; the portal does not offer it). */
  readonly optOutAllowed: boolean;
}

export const DEFAULT_PURPOSES: readonly PurposeDefinition[] = [
  { name: 'clinical-ai', label: 'AI tools that help with your own care', requiresOptIn: false, optOutAllowed: false },
  {
    name: 'quality-improvement',
    label: 'Checking and improving the quality of care at this facility',
    requiresOptIn: false,
    optOutAllowed: true,
  },
  { name: 'research', label: 'Medical research', requiresOptIn: false, optOutAllowed: true },
  {
    name: 'commercial-ai-training',
    label: 'Training AI products sold by companies',
    requiresOptIn: true,
    optOutAllowed: true,
  },
  {
    name: 'education',
    label: 'Teaching and training of health professionals',
    requiresOptIn: false,
    optOutAllowed: true,
  },
];

const purposeSchema = z.strictObject({
  name,
  label: text,
  requiresOptIn: z.boolean().default(false),
  optOutAllowed: z.boolean().default(true),
});

/** Keys every destination (and, for purpose and legalBasis, every route) may carry. */
export const contractFields = {
  /** The purpose of use, from governance.purposes. */
  purpose: name.optional(),
  /** The legal basis the facility relies on (consent, treatment, public-interest, legitimate-interest...). */
  legalBasis: text.optional(),
  /** Who receives the data. */
  vendor: text.optional(),
  /** The contract (data processing agreement) reference. */
  contract: text.optional(),
  /** Where the vendor processes and stores the data. */
  region: region.optional(),
  /** How long the vendor may keep it. */
  retentionDays: z.number().int().min(0).max(36_500).optional(),
  /** The vendor must confirm deletion once the retention has run out (overdue ones show in metrics and the console). */
  confirmDeletion: z.boolean().default(false),
};

export const routePurposeFields = {
  purpose: name.optional(),
  legalBasis: text.optional(),
};

export const governanceSchema = z
  .strictObject({
    /** Shown on the fact sheet and the portal. */
    facility: z
      .strictObject({ name: text.default('This facility'), contact: text.optional() })
      .default({ name: 'This facility' }),
    purposes: z
      .array(purposeSchema)
      .min(1)
      .default([...DEFAULT_PURPOSES]),
    /** Data localisation: destinations only in these regions (allowed) and never in these (forbidden). */
    regions: z
      .strictObject({ allowed: z.array(region).optional(), forbidden: z.array(region).default([]) })
      .default({ forbidden: [] }),
  })
  .default({ facility: { name: 'This facility' }, purposes: [...DEFAULT_PURPOSES], regions: { forbidden: [] } });

export const auditSchema = z
  .strictObject({
    /** Ed25519 private key (PEM) for checkpoints: read only by `--role all|ingress` and `veil audit checkpoint`. */
    signingKey: z.string().min(1).optional(),
    /** Its public key (PEM), for `veil audit verify`. */
    publicKey: z.string().min(1).optional(),
    checkpointSeconds: z.number().min(1).max(86_400).default(300),
  })
  .default({ checkpointSeconds: 300 });

/**
 * The gateway's crosswalk (apps/veil/src/governance/crosswalk.ts): when set, `veil serve` seals pseudonym -> identity
 * for patient ID, accession and study/series/instance UIDs to this X25519 public key (PEM) in its store. The private
 * key never goes in the configuration: `veil reidentify --config` takes it from --crosswalk-key-file or
 * VEIL_CROSSWALK_KEY.
 */
export const crosswalkSchema = z.strictObject({ publicKey: z.string().min(1) }).optional();

export const consoleSchema = z.strictObject({ enabled: z.boolean().default(false) }).default({ enabled: false });

export const portalSchema = z
  .strictObject({
    enabled: z.boolean().default(false),
    /** Life of a one-time access code. */
    codeMinutes: z
      .number()
      .int()
      .min(1)
      .max(60 * 24 * 30)
      .default(60 * 24 * 7),
    /** Idle life of a portal session. */
    sessionMinutes: z.number().int().min(1).max(1440).default(30),
    /**
     * Days a patient's originals stay downloadable from the portal after delivery, sealed in the patient-copy store
     * (apps/veil/src/governance/patient-copies.ts); 0 (default): none kept, the portal says so.
     */
    keepOriginalsDays: z.number().int().min(0).max(3650).default(0),
  })
  .default({ enabled: false, codeMinutes: 60 * 24 * 7, sessionMinutes: 30, keepOriginalsDays: 0 });

export type GovernanceConfig = z.infer<typeof governanceSchema>;
export type AuditConfig = z.infer<typeof auditSchema>;
export type PortalConfig = z.infer<typeof portalSchema>;

interface Contracted {
  readonly name: string;
  readonly purpose?: string | undefined;
  readonly region?: string | undefined;
}

interface GovernedConfig {
  readonly governance: GovernanceConfig;
  readonly destinations: readonly Contracted[];
  readonly routes?:
    | readonly { readonly name: string; readonly to: readonly string[]; readonly purpose?: string | undefined }[]
    | undefined;
}

export interface GovernanceIssue {
  readonly path: string;
  readonly reason: string;
}

/** The first problem with purposes and regions, or undefined. */
export function governanceIssue(config: GovernedConfig): GovernanceIssue | undefined {
  const purposes = new Set(config.governance.purposes.map((p) => p.name));
  if (purposes.size !== config.governance.purposes.length) {
    return { path: 'governance.purposes', reason: 'a purpose name is used twice' };
  }
  const { allowed, forbidden } = config.governance.regions;
  for (const [i, d] of config.destinations.entries()) {
    if (d.purpose !== undefined && !purposes.has(d.purpose)) {
      return { path: `destinations.${i}.purpose`, reason: `no purpose "${d.purpose}" in governance.purposes` };
    }
    if (d.region !== undefined && forbidden.includes(d.region)) {
      return {
        path: `destinations.${i}.region`,
        reason: `REGION_FORBIDDEN: region "${d.region}" is forbidden by governance.regions`,
      };
    }
    if (allowed !== undefined && (d.region === undefined || !allowed.includes(d.region))) {
      return {
        path: `destinations.${i}.region`,
        reason: `REGION_FORBIDDEN: ${d.region === undefined ? 'no region declared' : `region "${d.region}" is not`} in governance.regions.allowed`,
      };
    }
  }
  for (const [i, r] of (config.routes ?? []).entries()) {
    if (r.purpose === undefined) continue;
    if (!purposes.has(r.purpose)) {
      return { path: `routes.${i}.purpose`, reason: `no purpose "${r.purpose}" in governance.purposes` };
    }
    for (const to of r.to) {
      const d = config.destinations.find((x) => x.name === to);
      if (d?.purpose !== undefined && d.purpose !== r.purpose) {
        return {
          path: `routes.${i}.purpose`,
          reason: `the route's purpose differs from destination "${to}"'s (${d.purpose})`,
        };
      }
    }
  }
  return undefined;
}

/** The purpose a delivery to this destination serves: the destination's, else its route's. */
export function purposeOf(
  destination: Contracted,
  route: { readonly purpose?: string | undefined } | undefined,
): string | undefined {
  return destination.purpose ?? route?.purpose;
}
