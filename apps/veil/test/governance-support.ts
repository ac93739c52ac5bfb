/**
 * Shared by the governance, portal and browser tests: two patients' real CT files from ../shared/data (patient A,
 * PatientID PLASTIC: two instances of one study; patient B, 00007041776 issued by CCHS: one), a way to drop them into an inbox, and
 * a gateway configuration with a clinical-ai and a research destination under contracts, signed audit checkpoints,
 * the console and the portal.
 */

import { generateKeyPairSync } from 'node:crypto';
import { copyFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { corpusDir, writeConfig } from './server-support.ts';

/** Patient A (PatientID PLASTIC): two instances of one CT study; patient B (00007041776): one CT. */
export const PATIENT_A = {
  id: 'PLASTIC',
  issuer: '',
  files: ['dcm_qa_ct/Philips/S21570/S2010/I10', 'dcm_qa_ct/Philips/S21570/S2010/I20'],
};
export const PATIENT_B = { id: '00007041776', issuer: 'CCHS', files: ['deid-data/humans/ctbrain1.dcm'] };

export function put(inbox: string, rel: string, name: string): void {
  const tmp = join(inbox, `.${name}.part`);
  copyFileSync(join(corpusDir, rel), tmp);
  renameSync(tmp, join(inbox, name));
}

export function governanceConfig(dir: string, keyPath: string, extra: Record<string, unknown> = {}): string {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  writeFileSync(join(dir, 'audit-signing.pem'), privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  writeFileSync(join(dir, 'audit-public.pem'), publicKey.export({ type: 'spki', format: 'pem' }));
  return writeConfig(dir, {
    spool: './spool',
    store: { kind: 'sqlite', path: './veil.db' },
    key: { file: keyPath },
    ingress: [{ name: 'inbox', kind: 'folder', path: './inbox', pollMs: 100, settleMs: 50 }],
    destinations: [
      {
        name: 'clinical',
        kind: 'folder',
        path: './out/clinical',
        purpose: 'clinical-ai',
        legalBasis: 'treatment',
        vendor: 'Clinical AI Ltd',
        contract: 'DPA-C-1',
        region: 'eu-west',
        retentionDays: 30,
        confirmDeletion: true,
      },
      {
        name: 'research',
        kind: 'folder',
        path: './out/research',
        purpose: 'research',
        legalBasis: 'consent',
        vendor: 'Research Institute',
        contract: 'DPA-R-7',
        region: 'eu-west',
        retentionDays: 0,
        confirmDeletion: true,
      },
    ],
    governance: { facility: { name: 'Test Hospital' }, regions: { allowed: ['eu-west'] } },
    audit: { signingKey: './audit-signing.pem', publicKey: './audit-public.pem', checkpointSeconds: 3600 },
    console: { enabled: true },
    portal: { enabled: true },
    studies: { stableAfterSeconds: 0.5 },
    sweepSeconds: 0.2,
    http: { port: 0 },
    log: { level: 'warn' },
    ...extra,
  });
}

const DICOMDIR_TESTS = 'pydicom-test-files/test_files/dicomdirtests/77654033';
/** Patient C (PatientID 77654033): a CR study of two instances, then a CT study (a later study of the same patient). */
export const PATIENT_C = {
  id: '77654033',
  issuer: '',
  files: [`${DICOMDIR_TESTS}/CR1/6154`, `${DICOMDIR_TESTS}/CR2/6247`],
  nextStudy: `${DICOMDIR_TESTS}/CT2/17106`,
};
