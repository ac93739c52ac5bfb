/**
 * The study list of `veil pull`: a CSV with a header row and any of the columns AccessionNumber, PatientID,
 * StudyDate (YYYYMMDD or a range YYYYMMDD-YYYYMMDD, either end open) and StudyInstanceUID; one study query per row.
 * Pure. Errors name the line and the column, never a value (accession numbers and patient IDs are PHI).
 *
 * Example:
 *   const rows = parseStudyList('AccessionNumber,StudyDate\nA123,20240101-20240131\n');
 *   rows[0]; // { line: 2, accessionNumber: 'A123', studyDate: '20240101-20240131' }
 */

export interface StudyRow {
  /** Line number in the file (the header is line 1): how reports name a row. */
  readonly line: number;
  readonly accessionNumber?: string;
  readonly patientId?: string;
  readonly studyDate?: string;
  readonly studyInstanceUid?: string;
}

export class StudyListError extends Error {
  constructor(
    readonly code: string,
    readonly line: number,
    readonly column?: string,
  ) {
    super(`${code} at line ${line}${column ? ` (${column})` : ''}`);
    this.name = 'StudyListError';
  }
}

const COLUMNS = {
  AccessionNumber: 'accessionNumber',
  PatientID: 'patientId',
  StudyDate: 'studyDate',
  StudyInstanceUID: 'studyInstanceUid',
} as const;

const DATE = /^(\d{8})?(-(\d{8})?)?$/;
const UID = /^[0-9]+(\.[0-9]+)*$/;

/** Splits one CSV line (RFC 4180 quoting: "a,b" and "" inside quotes). */
function splitCsv(line: string, lineNo: number): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cur += c;
    } else if (c === '"' && cur === '') quoted = true;
    else if (c === ',') {
      out.push(cur);
      cur = '';
    } else cur += c;
  }
  if (quoted) throw new StudyListError('PULL_LIST_BAD_QUOTE', lineNo);
  out.push(cur);
  return out.map((s) => s.trim());
}

/** Values DICOM matching would read as wildcards or as several values are refused: one study per exact key. */
function checkValue(column: string, value: string, line: number): void {
  if (/[\\*?\r\n\0]/.test(value)) throw new StudyListError('PULL_LIST_BAD_VALUE', line, column);
  if (value.length > 64) throw new StudyListError('PULL_LIST_BAD_VALUE', line, column);
  if (column === 'StudyDate' && (!DATE.test(value) || value === '-'))
    throw new StudyListError('PULL_LIST_BAD_DATE', line, column);
  if (column === 'StudyInstanceUID' && !UID.test(value)) throw new StudyListError('PULL_LIST_BAD_UID', line, column);
}

export function parseStudyList(text: string): StudyRow[] {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  const header = splitCsv(lines[0] ?? '', 1);
  const known = header.map((h) => (h in COLUMNS ? (h as keyof typeof COLUMNS) : undefined));
  if (!known.some((k) => k !== undefined)) throw new StudyListError('PULL_LIST_NO_COLUMNS', 1);
  header.forEach((h, i) => {
    if (h !== '' && known[i] === undefined) throw new StudyListError('PULL_LIST_UNKNOWN_COLUMN', 1, h);
  });
  const rows: StudyRow[] = [];
  for (let i = 1; i < lines.length; i++) {
    const raw = lines[i]!;
    if (raw.trim() === '') continue;
    const f = splitCsv(raw, i + 1);
    if (f.length > header.length) throw new StudyListError('PULL_LIST_TOO_MANY_FIELDS', i + 1);
    const row: Record<string, string | number> = { line: i + 1 };
    known.forEach((k, j) => {
      const v = f[j] ?? '';
      if (k === undefined || v === '') return;
      checkValue(k, v, i + 1);
      row[COLUMNS[k]] = v;
    });
    if (Object.keys(row).length === 1) throw new StudyListError('PULL_LIST_EMPTY_ROW', i + 1);
    rows.push(row as unknown as StudyRow);
  }
  if (rows.length === 0) throw new StudyListError('PULL_LIST_EMPTY', 1);
  return rows;
}
