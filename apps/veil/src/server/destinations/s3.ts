/**
 * The S3 destination (`s3://bucket/prefix`, AWS or any S3-compatible endpoint): each instance becomes the object
 * <prefix>/<patient>/<study>/<series>/<SOPInstanceUID>.dcm (hierarchy, the default) or <prefix>/<SOPInstanceUID>.dcm
 * (flat), names made of de-identified values only. Files larger than one part go up as a multipart upload
 * (@aws-sdk/lib-storage; parts of `partSizeMB`, `queueSize` at once; a failed upload is aborted, leaving no parts).
 * The same instance sent again writes the same key with the same bytes: one object, whatever the retries.
 *
 * Credentials: a JSON file ({ accessKeyId, secretAccessKey, sessionToken? }) named by `s3.credentialsFile`, else the
 * SDK's own chain (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, profiles, instance roles). The SDK retries nothing
 * itself (the gateway's delivery retries with backoff do); a request with no byte for `timeoutSeconds` fails.
 *
 * Example:
 *   const dest = new S3Destination({ name: 'bucket', kind: 's3', url: 's3://research/trial-7', ... });
 *   await dest.send(item); // { peer: 's3://research/trial-7', acknowledged: { key, etag, multipart: false } }
 */
import { createReadStream, readFileSync, statSync } from 'node:fs';
import { S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import {
  DeliveryError,
  type DeliveryReceipt,
  type Destination,
  type OutgoingInstance,
  parseS3Url,
  type S3DestinationConfig,
} from '@veil/pipeline';

const SAFE = /^[A-Za-z0-9._-]+$/;
const PERMANENT_HTTP = new Set([400, 405, 411, 413]);

function credentialsFrom(file: string): { accessKeyId: string; secretAccessKey: string; sessionToken?: string } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new DeliveryError(`DEST_S3_CREDENTIALS_${(e as NodeJS.ErrnoException).code ?? 'INVALID'}`);
  }
  const c = parsed as Record<string, unknown>;
  if (typeof c.accessKeyId !== 'string' || typeof c.secretAccessKey !== 'string') {
    throw new DeliveryError('DEST_S3_CREDENTIALS_INVALID');
  }
  return {
    accessKeyId: c.accessKeyId,
    secretAccessKey: c.secretAccessKey,
    ...(typeof c.sessionToken === 'string' ? { sessionToken: c.sessionToken } : {}),
  };
}

export class S3Destination implements Destination {
  readonly name: string;
  readonly peer: string;
  readonly #config: S3DestinationConfig;
  readonly #bucket: string;
  readonly #prefix: string;
  #client: S3Client | undefined;

  constructor(config: S3DestinationConfig) {
    const target = parseS3Url(config.url);
    if (!target) throw new DeliveryError('DEST_BAD_URL', true);
    this.name = config.name;
    this.#config = config;
    this.#bucket = target.bucket;
    this.#prefix = target.prefix;
    this.peer = `s3://${target.bucket}${target.prefix ? `/${target.prefix}` : ''}`;
  }

  #clientNow(): S3Client {
    if (!this.#client) {
      const s3 = this.#config.s3;
      const ms = this.#config.timeoutSeconds * 1000;
      this.#client = new S3Client({
        region: s3.region,
        forcePathStyle: s3.forcePathStyle,
        ...(s3.endpoint ? { endpoint: s3.endpoint } : {}),
        ...(s3.credentialsFile ? { credentials: credentialsFrom(s3.credentialsFile) } : {}),
        maxAttempts: 1,
        // Checksums only where S3 requires them: S3-compatible servers do not all read the newer trailers.
        requestChecksumCalculation: 'WHEN_REQUIRED',
        responseChecksumValidation: 'WHEN_REQUIRED',
        requestHandler: { requestTimeout: ms, connectionTimeout: ms, throwOnRequestTimeout: true },
      });
    }
    return this.#client;
  }

  /** The object key of an instance. */
  keyOf(item: OutgoingInstance): string {
    const uid = item.sopInstanceUid;
    const file = `${SAFE.test(uid) ? uid : `unknown-${item.jobId}`}${item.version ? `.v${item.version}` : ''}.dcm`;
    const rel = this.#config.layout === 'hierarchy' ? `${item.hierarchy}/${file}` : file;
    return this.#prefix ? `${this.#prefix}/${rel}` : rel;
  }

  async send(item: OutgoingInstance): Promise<DeliveryReceipt> {
    const key = this.keyOf(item);
    let size: number;
    try {
      size = statSync(item.path).size;
    } catch (e) {
      throw new DeliveryError(`DEST_${(e as NodeJS.ErrnoException).code ?? 'UNREADABLE'}`);
    }
    const client = this.#clientNow();
    const partSize = this.#config.partSizeMB * 1024 * 1024;
    const upload = new Upload({
      client,
      params: {
        Bucket: this.#bucket,
        Key: key,
        Body: createReadStream(item.path, { highWaterMark: 1024 * 1024 }),
        ContentType: 'application/dicom',
        ContentLength: size,
      },
      partSize,
      queueSize: this.#config.queueSize,
      leavePartsOnError: false,
    });
    try {
      const out = await upload.done();
      const etag = (out as { ETag?: string }).ETag;
      const version = (out as { VersionId?: string }).VersionId;
      return {
        peer: this.peer,
        acknowledged: {
          key,
          bytes: size,
          multipart: size > partSize,
          ...(etag ? { etag: etag.replace(/"/g, '') } : {}),
          ...(version ? { versionId: version } : {}),
        },
      };
    } catch (e) {
      if (e instanceof DeliveryError) throw e;
      if (e instanceof S3ServiceException) {
        const status = e.$metadata.httpStatusCode ?? 0;
        const name = e.name.replace(/[^A-Za-z0-9]/g, '').toUpperCase() || 'ERROR';
        throw new DeliveryError(`DEST_S3_${name}`, PERMANENT_HTTP.has(status));
      }
      const code = (e as { code?: unknown; name?: unknown }).code ?? (e as { name?: unknown }).name;
      const safe = typeof code === 'string' ? code.replace(/[^A-Za-z0-9_]/g, '').toUpperCase() : 'ERROR';
      throw new DeliveryError(`DEST_S3_${safe || 'ERROR'}`);
    }
  }

  async close(): Promise<void> {
    this.#client?.destroy();
    this.#client = undefined;
  }
}
