/**
 * The DICOMweb proof corpus: varied Part 10 files from the shared test data (../shared/data/dicom, or
 * $VEIL_SHARED_DIR/data/dicom): every transfer syntax family (implicit, explicit, big endian, deflated, JPEG
 * baseline/lossless/LS, JPEG 2000, RLE), single and multi-frame, SR, SEG, RT, waveform, ISO 2022 text, private tags,
 * files without a .dcm extension, and four instances of one MR study (for study-level retrieval). Each has its own
 * SOP Instance UID. Used by the package's tests and by apps/veil/test/{dicomweb,orthanc}*.test.ts.
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');
export const sharedDir = process.env.VEIL_SHARED_DIR ?? resolve(repoRoot, '..', 'shared');
export const dicomDir = join(sharedDir, 'data/dicom');

/** The MR study of which four instances are in the corpus. */
export const MR_STUDY_UID = '1.2.156.112605.14038013508437.20180925051958.2.11880.1';
const MR_SERIES = 'dcm_qa_uih/DTI_132225/t1_gre_fsp_3d_sag__132750';

export const CORPUS: readonly string[] = [
  'dcm4che/test-data/CT-JPEGLosslessSV1.dcm',
  'dcm4che/test-data/MR-JPEGLosslessSV1.dcm',
  'dcm4che/test-data/NM-MONO2-16-13x-heart',
  'dcm4che/test-data/US-PAL-8-10x-echo',
  'dcm4che/test-data/US-RGB-8-epicard',
  'dcm_qa_ct/Philips/S21570/S1000/I10',
  'dcmjs/examples/data/structured_report.dcm',
  'dcmjs/examples/data/QIICR_Test3/tumor_User1_Manual_Trial1.dcm',
  'deid-data/humans/ctbrain1.dcm',
  'dicognito/test_writes_deflated_file_correctly/CT_small_deflated.dcm',
  'dicomParser/examples/nodejs/ctimage.dcm',
  'dicomParser/testImages/encapsulated/multi-frame/CT0012.fragmented_no_bot_jpeg_ls.80.dcm',
  'fo-dicom/Test_Data/charset/chrJapMulti.dcm',
  'pydicom-data/MR2_J2KR.dcm',
  'pydicom-data/US1_J2KI.dcm',
  'pydicom-test-files/test_files/waveform_ecg.dcm',
  'pydicom-test-files/test_files/rtplan.dcm',
  'rsna-anonymizer/JPEG-LS_Lossy.dcm',
  'presidio/image-redactor-test_data/RGB_ORIGINAL.dcm',
  `${MR_SERIES}/00000070.dcm`,
  `${MR_SERIES}/00000071.dcm`,
  `${MR_SERIES}/00000072.dcm`,
  `${MR_SERIES}/00000073.dcm`,
];

export function corpusPaths(): string[] {
  return CORPUS.map((p) => join(dicomDir, p));
}

export function corpusAvailable(): boolean {
  return CORPUS.every((p) => existsSync(join(dicomDir, p)));
}
