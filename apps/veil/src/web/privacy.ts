/**
 * The facility privacy fact sheet, generated from the running configuration (so it is always true to it): who
 * receives de-identified copies and why (vendor, purpose, legal basis, region, retention, deletion confirmation,
 * contract), the purposes and what a patient can choose, the de-identification profile and options, the pixel and
 * defacing policy, the audit trail's status. `/privacy.json` is the same data for comparison across facilities;
 * `/privacy` the printable page.
 *
 * Example:
 *   const sheet = await factSheet(config, gov, Date.now());
 */

import { readFileSync } from 'node:fs';
import { type GovernanceStore, purposeOf, verifyChain } from '@veil/pipeline';
import { REIDENTIFY_ROLES } from '../governance/crosswalk.ts';
import { pixelTextConfig } from '../pixels/config.ts';
import type { LoadedServerConfig } from '../server/config.ts';
import { date, esc, page } from './layout.ts';

export interface FactSheet {
  readonly facility: { readonly name: string; readonly contact: string | null };
  readonly generatedAt: string;
  /** Each vendor once, sorted. */
  readonly vendors: readonly string[];
  readonly recipients: readonly {
    destination: string;
    vendor: string | null;
    purpose: string | null;
    purposeLabel: string | null;
    legalBasis: string | null;
    region: string | null;
    retentionDays: number | null;
    confirmDeletion: boolean;
    contract: string | null;
  }[];
  readonly purposes: readonly {
    name: string;
    label: string;
    usedBy: readonly string[];
    yourChoice: 'opt-in' | 'opt-out' | 'none';
    explanation: string;
  }[];
  readonly regions: { readonly allowed: readonly string[] | null; readonly forbidden: readonly string[] };
  readonly deidentification: {
    readonly profile: string;
    readonly options: readonly string[];
    readonly privateTags: string;
    readonly dates: string;
    readonly burnedInText: string;
    readonly faces: string;
    readonly verifiedBeforeRelease: boolean;
  };
  readonly audit: {
    readonly hashChained: true;
    readonly signedCheckpoints: boolean;
    readonly events: number;
    readonly intact: boolean;
    readonly lastCheckpointAt: string | null;
  };
  readonly portal: boolean;
  /** Days a patient's originals stay downloadable from the portal after sharing (0: not kept). */
  readonly originalsKeptDays: number;
  /** Whether the gateway keeps an encrypted crosswalk (pseudonym -> identity) for authorised re-identification. */
  readonly crosswalk: { readonly kept: boolean; readonly roles: readonly string[] };
}

const PROFILE = 'DICOM PS3.15 Basic Application Level Confidentiality Profile';

export async function factSheet(config: LoadedServerConfig, gov: GovernanceStore, now: number): Promise<FactSheet> {
  const cfg = config.server;
  const deid = config.deid.deid;
  const purposes = cfg.governance.purposes;
  const recipients = cfg.destinations.map((d) => {
    const route = config.routes.find((r) => r.to.includes(d.name));
    const purpose = purposeOf(d, route) ?? null;
    return {
      destination: d.name,
      vendor: d.vendor ?? null,
      purpose,
      purposeLabel: purposes.find((p) => p.name === purpose)?.label ?? null,
      legalBasis: d.legalBasis ?? route?.legalBasis ?? null,
      region: d.region ?? null,
      retentionDays: d.retentionDays ?? null,
      confirmDeletion: d.confirmDeletion,
      contract: d.contract ?? null,
    };
  });
  const report = await verifyChain(gov.auditPages(), await gov.listCheckpoints(), readPublicKey(config));
  const options = Object.entries(deid.options as unknown as Record<string, unknown>)
    .filter(([, v]) => v === true)
    .map(([k]) => k)
    .sort();
  return {
    facility: { name: cfg.governance.facility.name, contact: cfg.governance.facility.contact ?? null },
    generatedAt: new Date(now).toISOString(),
    vendors: [...new Set(recipients.map((r) => r.vendor).filter((v): v is string => v !== null))].sort(),
    recipients,
    purposes: purposes.map((p) => ({
      name: p.name,
      label: p.label,
      usedBy: recipients.filter((r) => r.purpose === p.name).map((r) => r.vendor ?? r.destination),
      yourChoice: p.requiresOptIn ? 'opt-in' : p.optOutAllowed ? 'opt-out' : 'none',
      explanation: p.requiresOptIn
        ? 'Not shared unless you say yes (opt in).'
        : p.optOutAllowed
          ? 'Shared in de-identified form unless you say no (opt out). Saying no does not affect your care.'
          : 'Part of your care; not optional.',
    })),
    regions: { allowed: cfg.governance.regions.allowed ?? null, forbidden: cfg.governance.regions.forbidden },
    deidentification: {
      profile: PROFILE,
      options,
      privateTags: deid.privateTags,
      dates: deid.dates.mode,
      burnedInText: pixelTextConfig(config.deid.deidInput.pixels).enabled
        ? 'Text burned into images is found and blacked out before release; an image Veil cannot read is held back.'
        : 'Text burned into images is not looked for: this gateway is configured to send pixels as they are.',
      faces: deid.pixels?.cleanRecognizableVisualFeatures
        ? 'Faces in head scans are removed before release.'
        : 'No face removal is configured.',
      verifiedBeforeRelease: true,
    },
    audit: {
      hashChained: true,
      signedCheckpoints: cfg.audit.signingKey !== undefined || cfg.audit.publicKey !== undefined,
      events: report.events,
      intact: report.ok,
      lastCheckpointAt: report.lastCheckpoint ? new Date(report.lastCheckpoint.at).toISOString() : null,
    },
    portal: cfg.portal.enabled,
    originalsKeptDays: cfg.portal.enabled ? (cfg.portal.keepOriginalsDays ?? 0) : 0,
    crosswalk: { kept: cfg.crosswalk !== undefined, roles: cfg.crosswalk ? [...REIDENTIFY_ROLES] : [] },
  };
}

function readPublicKey(config: LoadedServerConfig): string | undefined {
  const f = config.server.audit.publicKey;
  if (f === undefined) return undefined;
  try {
    return readFileSync(f, 'utf8');
  } catch {
    return undefined;
  }
}

export function factSheetHtml(s: FactSheet): string {
  const rows = s.recipients
    .map(
      (r) => `<tr><td>${esc(r.vendor ?? 'Not named')}</td><td>${esc(r.purposeLabel ?? r.purpose ?? 'Not declared')}</td>
<td>${esc(r.legalBasis ?? 'Not declared')}</td><td>${esc(r.region ?? 'Not declared')}</td>
<td>${r.retentionDays === null ? 'Not limited' : `${r.retentionDays} days`}</td>
<td>${r.confirmDeletion ? 'Yes' : 'No'}</td><td>${esc(r.contract ?? '')}</td></tr>`,
    )
    .join('\n');
  const purposes = s.purposes
    .map(
      (p) =>
        `<tr><td>${esc(p.label)}</td><td>${p.usedBy.length ? esc(p.usedBy.join(', ')) : 'Nobody at present'}</td><td>${esc(p.explanation)}</td></tr>`,
    )
    .join('\n');
  const body = `
<p>This page describes, in plain language, what ${esc(s.facility.name)} does with copies of medical images before
they are used by artificial intelligence (AI) systems. It is generated from the gateway's running settings on
${esc(date(Date.parse(s.generatedAt)))}.${s.facility.contact ? ` Questions: ${esc(s.facility.contact)}.` : ''}</p>
<h2 id="who">Who receives de-identified copies</h2>
<table aria-describedby="who">
<thead><tr><th scope="col">Organisation</th><th scope="col">Why</th><th scope="col">Legal basis</th><th scope="col">Where the data is kept</th><th scope="col">Kept for</th><th scope="col">Must confirm deletion</th><th scope="col">Contract</th></tr></thead>
<tbody>
${rows}
</tbody></table>
<h2 id="choices">Your choices</h2>
<table aria-describedby="choices">
<thead><tr><th scope="col">Use</th><th scope="col">Who</th><th scope="col">What you can do</th></tr></thead>
<tbody>
${purposes}
</tbody></table>
${s.portal ? `<p>Ask the staff for an access code to the <a href="/portal">patient portal</a>: there you can see where your images went, change your choices and download a report${s.originalsKeptDays > 0 ? `, and your original images for ${s.originalsKeptDays} days after they were shared` : ' (your original images only while they are still being processed; the imaging department keeps them)'}.</p>` : ''}
<h2>How images are de-identified</h2>
<ul>
<li>Identifying details (names, ID numbers, addresses, dates of birth and similar) are removed or replaced following the ${esc(s.deidentification.profile)}${s.deidentification.options.length ? `, with these options: ${esc(s.deidentification.options.join(', '))}` : ''}.</li>
<li>Dates: ${esc(s.deidentification.dates)}. Private manufacturer data: ${esc(s.deidentification.privateTags)}.</li>
<li>${esc(s.deidentification.burnedInText)}</li>
<li>${esc(s.deidentification.faces)}</li>
<li>Every copy is checked again for identifying details before it leaves; anything doubtful is held back.</li>
</ul>
<h2>Where data may go</h2>
<p>${s.regions.allowed ? `Only to: ${esc(s.regions.allowed.join(', '))}.` : 'No region restriction is configured.'}${s.regions.forbidden.length ? ` Never to: ${esc(s.regions.forbidden.join(', '))}.` : ''}</p>
<h2>Linking copies back to you</h2>
<p>${s.crosswalk.kept ? `The gateway keeps an encrypted list linking each replacement ID back to the real one, so that a finding about a shared copy can reach your care. Only ${esc(s.crosswalk.roles.join(' and '))} staff holding a separate key can read it, and every look-up is logged.` : 'The gateway keeps no list linking shared copies back to you.'}</p>
<h2>Record keeping</h2>
<p>Every receipt, release, choice and deletion is written to a tamper-evident log (each entry is chained to the one before it${s.audit.signedCheckpoints ? ', with signed checkpoints' : ''}).
Current status: <span class="${s.audit.intact ? 'ok' : 'warn'}">${s.audit.intact ? 'intact' : 'FAILED VERIFICATION'}</span>, ${s.audit.events} entries.</p>
`;
  return page({ title: `Privacy fact sheet: ${s.facility.name}`, body, site: s.facility.name });
}
