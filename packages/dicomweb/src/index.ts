/**
 * @veil/dicomweb: DICOMweb (PS3.18) for Veil. A streaming multipart/related codec; the STOW-RS, QIDO-RS and
 * WADO-RS servers over two handler ports the application implements (StowHandler to store, DicomwebStore to list
 * and read); and a client for the same three services. Part 10 files pass through byte for byte: never decoded
 * beyond their headers, never re-encoded, never transcoded. Must not import storage or queue packages, nor apps.
 *
 * Example (server):
 *   const store = await FolderStore.open('/data/inbox');
 *   const server = await serveDicomweb({ stow: store, store, root: '/dicom-web' }, { port: 8080 });
 *
 * Example (client):
 *   const client = new DicomwebClient({ baseUrl: 'http://127.0.0.1:8042/dicom-web' });
 *   await client.stow([await stowFileFromPath('a.dcm')]);
 *   const [study] = await client.searchStudies({ PatientID: 'P1' });
 *   await retrieveToFolder(client, { studyInstanceUid: '1.2.3' }, 'out/');
 */
export { createDicomwebApp, DICOM_JSON, type DicomwebAppOptions, type DicomwebRequestEvent } from './app.ts';
export * from './client/client.ts';
export { type HttpRequestOptions, type HttpResponse, httpRequest } from './client/http.ts';
export * from './client/stow-file.ts';
export * from './dicom-json.ts';
export * from './errors.ts';
export { FolderStore, type FolderStoreOptions, recordOfFile } from './folder-store.ts';
export * from './media-type.ts';
export * from './multipart/reader.ts';
export * from './multipart/writer.ts';
export * from './part10.ts';
export * from './qido/matching.ts';
export * from './qido/query.ts';
export * from './qido/server.ts';
export * from './serve.ts';
export * from './store.ts';
export * from './stow/ports.ts';
export * from './stow/reasons.ts';
export * from './stow/response.ts';
export * from './stow/server.ts';
export * from './uid.ts';
export * from './wado/server.ts';
export * from './wado/to-folder.ts';
