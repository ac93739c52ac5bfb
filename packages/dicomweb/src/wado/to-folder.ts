/**
 * Saves what a WADO-RS retrieval returns into a folder: each part written to a temporary file as it streams, byte
 * for byte, fsynced, then renamed to `<SOP Instance UID>.dcm` (from its file meta; a hash when the UID is not a
 * plain UID). Parts that are not Part 10 files are kept as `part-<n>.bin` and reported.
 *
 * Example:
 *   const saved = await retrieveToFolder(client, { studyInstanceUid }, '/tmp/pulled');
 *   saved.files.length;
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { DicomwebClient, RetrieveOptions, RetrieveScope } from '../client/client.ts';
import { readPart10Meta } from '../part10.ts';
import { isUid } from '../uid.ts';

export interface SavedInstance {
  readonly path: string;
  readonly sopInstanceUid: string | undefined;
  readonly transferSyntaxUid: string | undefined;
  readonly length: number;
}

export interface RetrieveToFolderResult {
  readonly files: readonly SavedInstance[];
  /** Parts that were not Part 10 files, kept under part-<n>.bin. */
  readonly notPart10: number;
}

/** A safe file name for an instance. */
export function instanceFileName(sopInstanceUid: string): string {
  if (isUid(sopInstanceUid)) return `${sopInstanceUid}.dcm`;
  return `${createHash('sha256').update(sopInstanceUid).digest('hex').slice(0, 32)}.dcm`;
}

const HEAD = 64 * 1024;

export async function retrieveToFolder(
  client: DicomwebClient,
  scope: RetrieveScope,
  dir: string,
  options: RetrieveOptions = {},
): Promise<RetrieveToFolderResult> {
  await mkdir(dir, { recursive: true });
  const files: SavedInstance[] = [];
  let notPart10 = 0;
  for await (const part of client.retrieve(scope, options)) {
    const tmp = join(dir, `.part-${randomBytes(8).toString('hex')}.tmp`);
    const handle = await open(tmp, 'wx');
    const head: Uint8Array[] = [];
    let headSize = 0;
    let length = 0;
    try {
      for await (const chunk of part.body) {
        if (headSize < HEAD) {
          head.push(chunk);
          headSize += chunk.length;
        }
        length += chunk.length;
        let o = 0;
        while (o < chunk.length) o += (await handle.write(chunk, o, chunk.length - o)).bytesWritten;
      }
      await handle.sync();
    } catch (e) {
      await handle.close();
      await unlink(tmp).catch(() => undefined);
      throw e;
    }
    await handle.close();
    let meta: ReturnType<typeof readPart10Meta> | undefined;
    try {
      meta = readPart10Meta(Buffer.concat(head), true);
    } catch {
      meta = undefined;
    }
    const uid = meta === undefined || meta === 'more' ? undefined : meta.sopInstanceUid;
    const name = uid ? instanceFileName(uid) : `part-${part.index}.bin`;
    if (!uid) notPart10++;
    const path = join(dir, name);
    await rename(tmp, path);
    files.push({
      path,
      sopInstanceUid: uid,
      transferSyntaxUid: meta === undefined || meta === 'more' ? part.transferSyntaxUid : meta.transferSyntaxUid,
      length,
    });
  }
  return { files, notPart10 };
}
