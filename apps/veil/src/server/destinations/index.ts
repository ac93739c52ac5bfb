/**
 * Builds a Destination from its configuration (folder, C-STORE, STOW-RS, S3) and resolves the relative paths a
 * configuration file names (folders, TLS and credential files) against the file's folder. `withReceipts` wraps a
 * destination so that what the peer acknowledged for each instance is appended to the job's audit log before the
 * delivery is recorded (a crash in between re-delivers and audits the second acknowledgement too).
 *
 * Example:
 *   const dest = createDestination(parseDestinationConfig({ name: 'pacs', url: 'dicom://PACS@127.0.0.1:104' }));
 *   await dest.send(item);
 */
import { isAbsolute, resolve } from 'node:path';
import type { DeliveryReceipt, Destination, DestinationConfig, OutgoingInstance } from '@veil/pipeline';
import { DimseDestination } from './dimse.ts';
import { FolderDestination } from './folder.ts';
import { S3Destination } from './s3.ts';
import { StowDestination } from './stow.ts';

export function createDestination(config: DestinationConfig): Destination {
  switch (config.kind) {
    case 'folder':
      return new FolderDestination(config);
    case 'dimse':
      return new DimseDestination(config);
    case 'stow':
      return new StowDestination(config);
    case 's3':
      return new S3Destination(config);
  }
}

const abs = (base: string, p: string): string => (isAbsolute(p) ? p : resolve(base, p));

function absTls<T extends { ca?: string | undefined; cert?: string | undefined; key?: string | undefined }>(
  base: string,
  t: T | undefined,
): T | undefined {
  if (!t) return t;
  return {
    ...t,
    ...(t.ca !== undefined ? { ca: abs(base, t.ca) } : {}),
    ...(t.cert !== undefined ? { cert: abs(base, t.cert) } : {}),
    ...(t.key !== undefined ? { key: abs(base, t.key) } : {}),
  };
}

/** The destination with every file it names made absolute against `base`. */
export function resolveDestinationPaths<D extends DestinationConfig>(base: string, d: D): D {
  switch (d.kind) {
    case 'folder':
      return { ...d, path: abs(base, d.path) };
    case 'dimse':
      return {
        ...d,
        ...(d.tls ? { tls: absTls(base, d.tls) } : {}),
        ...(d.userIdentity?.passcodeFile !== undefined
          ? { userIdentity: { ...d.userIdentity, passcodeFile: abs(base, d.userIdentity.passcodeFile) } }
          : {}),
      };
    case 'stow':
      return {
        ...d,
        ...(d.tls ? { tls: absTls(base, d.tls) } : {}),
        ...(d.auth?.tokenFile !== undefined ? { auth: { ...d.auth, tokenFile: abs(base, d.auth.tokenFile) } } : {}),
      };
    case 's3':
      return d.s3.credentialsFile !== undefined
        ? { ...d, s3: { ...d.s3, credentialsFile: abs(base, d.s3.credentialsFile) } }
        : d;
  }
  return d;
}

/** Wraps a destination: each receipt goes to `record` (the audit log) before send() resolves. */
export function withReceipts(
  inner: Destination,
  record: (item: OutgoingInstance, receipt: DeliveryReceipt) => Promise<void>,
): Destination {
  return {
    name: inner.name,
    async send(item) {
      const receipt = await inner.send(item);
      if (receipt) await record(item, receipt);
      return receipt;
    },
    close: () => inner.close?.() ?? Promise.resolve(),
  };
}
