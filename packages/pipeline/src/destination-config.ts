/**
 * Egress destinations beyond a folder, as the gateway configuration and `veil pull --to` name them: a DICOM node
 * (C-STORE, `dicom://AE@host:port`), a DICOMweb server (STOW-RS, `http(s)://host/root`) and S3-compatible object
 * storage (`s3://bucket/prefix`). A destination may be given by its URL alone ({ name, url }): the kind is read from
 * the scheme (a plain path is a folder). Credentials never live in the configuration: a token file or environment
 * variable, a credentials file, or the SDK's environment variables.
 *
 * Example (YAML):
 *   destinations:
 *     - { name: pacs, url: dicom://PACS@10.1.2.3:104, callingAeTitle: VEIL }
 *     - { name: vendor, url: https://ai.example/dicom-web, auth: { tokenFile: /etc/veil/vendor.token }, batchSize: 20 }
 *     - { name: bucket, url: s3://research/trial-7, s3: { endpoint: https://minio.local:9000, forcePathStyle: true } }
 *     - { name: out, url: ./out }
 */
import { z } from 'zod';

const NAME = /^[A-Za-z0-9_.-]{1,64}$/;
const name = z.string().regex(NAME, 'letters, digits, ".", "_" or "-" (at most 64)');
const path = z.string().min(1);
const AE = /^[\x21-\x5b\x5d-\x7e]([\x20-\x5b\x5d-\x7e]{0,14}[\x21-\x5b\x5d-\x7e])?$/;

/** dicom://AE@host:port (the AE title may be percent-encoded). */
export const DICOM_URL = /^dicom:\/\/([^@/]{1,48})@([A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\]):(\d{1,5})\/?$/;
export const S3_URL = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(\/[A-Za-z0-9!_.*'()/-]*)?$/;
const HTTP_URL = /^https?:\/\/[^\s]+$/;

/** A status pattern: exact ("A700") or a class ("A7xx"). */
const STATUS_PATTERN = /^[0-9A-Fa-f]{2}([0-9A-Fa-f]{2}|xx)$/;

const clientTls = z.strictObject({
  /** PEM file of the CA(s) the peer's certificate must chain to (default: Node's bundled roots). */
  ca: path.optional(),
  /** PEM files of Veil's client certificate and key (mutual TLS). */
  cert: path.optional(),
  key: path.optional(),
  servername: z.string().min(1).max(253).optional(),
});

export const dimseDestinationShape = {
  name,
  kind: z.literal('dimse'),
  url: z.string().regex(DICOM_URL, 'dicom://AE@host:port'),
  callingAeTitle: z.string().regex(AE, 'an AE title (1 to 16 characters)').default('VEIL'),
  /** DICOM TLS: present (even empty) means the association runs over TLS. */
  tls: clientTls.optional(),
  /**
   * User identity negotiation (PS3.7 D.3.3.7, type 2: username and passcode, positive response requested). The
   * passcode comes from a file (first line) or an environment variable, never from the configuration itself.
   */
  userIdentity: z
    .strictObject({
      username: z.string().min(1).max(256),
      passcodeFile: path.optional(),
      passcodeEnv: z
        .string()
        .regex(/^[A-Z_][A-Z0-9_]*$/)
        .optional(),
    })
    .refine((u) => (u.passcodeFile === undefined) !== (u.passcodeEnv === undefined), {
      message: 'exactly one of passcodeFile or passcodeEnv',
    })
    .optional(),
  /** C-STORE failure statuses worth retrying (others are permanent): exact ("A700") or classes ("A7xx"). */
  retryStatuses: z.array(z.string().regex(STATUS_PATTERN, 'a status such as A700 or A7xx')).default(['A7xx', 'C0xx']),
  /** Longest wait for the association, and for each C-STORE-RSP. */
  timeoutSeconds: z.number().min(0.1).max(3600).default(60),
  /** An association idle this long is released (reused until then). */
  idleSeconds: z.number().min(0).max(3600).default(5),
  /** Instances sent on one association before it is released and a new one opened. */
  maxInstancesPerAssociation: z.number().int().min(1).max(1_000_000).default(10_000),
};

export const stowDestinationShape = {
  name,
  kind: z.literal('stow'),
  /** The DICOMweb service root, e.g. https://ai.example/dicom-web. */
  url: z.string().regex(HTTP_URL, 'an http(s) URL'),
  /** Bearer token from a file (first line) or an environment variable. */
  auth: z
    .strictObject({
      tokenFile: path.optional(),
      tokenEnv: z
        .string()
        .regex(/^[A-Z_][A-Z0-9_]*$/)
        .optional(),
    })
    .optional(),
  /** https: CA, and a client certificate for mutual TLS. */
  tls: clientTls.optional(),
  /** Instances per STOW-RS request: sends that arrive together share one request. */
  batchSize: z.number().int().min(1).max(1000).default(20),
  /** How long a send waits for others to fill its request. */
  batchWaitMs: z.number().int().min(0).max(10_000).default(50),
  timeoutSeconds: z.number().min(0.1).max(3600).default(120),
};

export const s3DestinationShape = {
  name,
  kind: z.literal('s3'),
  url: z.string().regex(S3_URL, 's3://bucket/prefix'),
  /** flat: <prefix>/<SOPInstanceUID>.dcm; hierarchy: <prefix>/<patient>/<study>/<series>/<SOPInstanceUID>.dcm. */
  layout: z.enum(['flat', 'hierarchy']).default('hierarchy'),
  s3: z
    .strictObject({
      /** An S3-compatible endpoint (MinIO, Ceph...); absent: AWS. */
      endpoint: z.string().regex(HTTP_URL).optional(),
      region: z.string().min(1).max(64).default('us-east-1'),
      forcePathStyle: z.boolean().default(false),
      /** JSON file { accessKeyId, secretAccessKey, sessionToken? }; absent: the SDK's environment and profiles. */
      credentialsFile: path.optional(),
    })
    .default({ region: 'us-east-1', forcePathStyle: false }),
  /** Files over one part are uploaded in parts of this size (multipart upload), this many at once. */
  partSizeMB: z.number().int().min(5).max(5000).default(8),
  queueSize: z.number().int().min(1).max(64).default(4),
  timeoutSeconds: z.number().min(0.1).max(3600).default(300),
};

export type DimseDestinationConfig = z.infer<z.ZodObject<typeof dimseDestinationShape>>;
export type StowDestinationConfig = z.infer<z.ZodObject<typeof stowDestinationShape>>;
export type S3DestinationConfig = z.infer<z.ZodObject<typeof s3DestinationShape>>;

/** The egress destination schemas, each with the extra fields given (the contract fields of governance). */
export function egressDestinationSchemas<E extends z.ZodRawShape>(extra: E) {
  return [
    z.strictObject({ ...dimseDestinationShape, ...extra }),
    z.strictObject({ ...stowDestinationShape, ...extra }),
    z.strictObject({ ...s3DestinationShape, ...extra }),
  ] as const;
}

/** The kind a destination URL names: dimse, stow, s3, or folder (a path). */
export function destinationKindOf(url: string): 'dimse' | 'stow' | 's3' | 'folder' {
  if (url.startsWith('dicom://')) return 'dimse';
  if (/^https?:\/\//.test(url)) return 'stow';
  if (url.startsWith('s3://')) return 's3';
  return 'folder';
}

/**
 * Fills `kind` from `url` for a destination given by URL alone ({ name, url }); a folder's URL becomes its path.
 * Anything else passes through unchanged (the schema then says what is wrong).
 */
export function inferDestinationKind(input: unknown): unknown {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) return input;
  const o = input as Record<string, unknown>;
  if (o.kind !== undefined || typeof o.url !== 'string') return input;
  const kind = destinationKindOf(o.url);
  if (kind === 'folder') {
    const { url, ...rest } = o;
    return { ...rest, kind, path: url };
  }
  return { ...o, kind };
}

/** Parts of a dicom:// URL. */
export function parseDicomUrl(url: string): { aeTitle: string; host: string; port: number } | undefined {
  const m = DICOM_URL.exec(url);
  if (!m) return undefined;
  const port = Number(m[3]);
  if (port < 1 || port > 65_535) return undefined;
  return { aeTitle: decodeURIComponent(m[1]!), host: m[2]!.replace(/^\[|\]$/g, ''), port };
}

/** Parts of an s3:// URL; the prefix has no leading or trailing slash ('' for the bucket's root). */
export function parseS3Url(url: string): { bucket: string; prefix: string } | undefined {
  const m = S3_URL.exec(url);
  if (!m) return undefined;
  return { bucket: m[1]!, prefix: (m[2] ?? '').replace(/^\/+|\/+$/g, '') };
}

/** Whether a DIMSE status matches one of the patterns ("A700", "A7xx"). */
export function statusMatches(status: number, patterns: readonly string[]): boolean {
  const hex = status.toString(16).toUpperCase().padStart(4, '0');
  return patterns.some((p) => {
    const u = p.toUpperCase();
    return u.endsWith('XX') ? hex.startsWith(u.slice(0, 2)) : hex === u;
  });
}
