/**
 * `veil text deid [FILE...]`: de-identifies free text (reports, notes, prompts) with @veil/text. Reads the files, or
 * standard input when none; writes to standard output or, with --out, one file per input in DIR.
 *
 *   --format text   each input is one document; the output is the de-identified text (default)
 *   --format jsonl  each input line is a JSON object with a "text" field (and optionally "patientKey"); the output
 *                   line is the same object with "text" de-identified and "spans" added (start, end, type,
 *                   confidence, rule: offsets into the original text, never the values)
 *   --format hl7    each input is an HL7 v2 message (ORU, MDM...): PHI fields replaced by type, report text (OBX,
 *                   NTE...) through the engine with the message's own PHI as known values; structure kept
 *   --format fhir   each input is FHIR JSON (DiagnosticReport, Observation, Bundle): narrative, conclusion,
 *                   text attachments through the engine; names, identifiers, telecoms, addresses replaced; dates
 *                   kept to the year (or shifted in surrogate mode); structure kept
 *   --format auto   per input: hl7 when it starts with MSH, fhir when it is JSON with a resourceType, else text;
 *                   a DICOM file is refused (TEXT_DICOM_INPUT: use veil deid with cleanStructuredContent)
 *   --spans         with --format text: print one JSON object per document ({ file, text, spans }) instead
 *   --mode placeholder|surrogate|mask (surrogate needs the key: --key-file or VEIL_KEY)
 *   --dicom FILE    a DICOM file of the same study: its header's identifying values are found in the text too
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { collectIdentifyingValues, NO_OPTIONS, scanFile } from '@veil/core';
import {
  type DeidentifyOptions,
  deidentify,
  deidentifyFhir,
  deidentifyHl7,
  type KnownValue,
  knownValuesFrom,
  looksLikeFhir,
  looksLikeHl7,
  type OutputMode,
  type Span,
} from '@veil/text';
import type { Command } from 'commander';
import { CliError, EXIT_USAGE, runCommand } from '../deid/cli-error.ts';
import { loadKey } from '../deid/keys.ts';

interface TextFlags {
  format: string;
  mode: string;
  keyFile?: string;
  out?: string;
  patientKey?: string;
  spans?: boolean;
  threshold?: string;
  dateOrder?: string;
  dicom?: string[];
}

const MODES: readonly OutputMode[] = ['placeholder', 'surrogate', 'mask'];
const FORMATS: readonly string[] = ['text', 'jsonl', 'hl7', 'fhir', 'auto'];

/** The format of one input under --format auto. DICOM (a Part 10 preamble) is not text: refused. */
function formatOf(name: string, bytes: Buffer, content: string): 'text' | 'hl7' | 'fhir' {
  if (bytes.length >= 132 && bytes.toString('latin1', 128, 132) === 'DICM') {
    throw new CliError(
      EXIT_USAGE,
      `${name}: TEXT_DICOM_INPUT (a DICOM file: use veil deid with options.cleanStructuredContent for SR reports)`,
    );
  }
  if (looksLikeHl7(content)) return 'hl7';
  if (looksLikeFhir(content)) return 'fhir';
  return 'text';
}

function spanJson(s: Span): object {
  return { start: s.start, end: s.end, type: s.type, confidence: Math.round(s.confidence * 100) / 100, rule: s.rule };
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export function register(program: Command): void {
  const text = program.command('text').description('Free-text de-identification (reports, notes, LLM prompts)');
  text
    .command('deid')
    .description('Replace PHI in free text with typed placeholders, keyed surrogates or a mask')
    .argument('[file...]', 'text files (standard input when none)')
    .option(
      '--format <format>',
      'text (one document per input), jsonl (one {"text": ...} object per line), hl7 (HL7 v2 message), fhir (FHIR JSON), or auto',
      'text',
    )
    .option('--mode <mode>', 'placeholder ([NAME]), surrogate (keyed realistic values), or mask (***)', 'placeholder')
    .option('-k, --key-file <file>', 'the project key, for --mode surrogate; default: $VEIL_KEY')
    .option('--out <dir>', 'write one output file per input there (default: standard output)')
    .option('--patient-key <id>', "whose dates these are: every date shifts by this patient's keyed number of days")
    .option('--spans', 'with --format text: print {file, text, spans} as JSON lines instead of the text')
    .option('--threshold <n>', 'drop findings under this confidence (0-1, default 0.5)')
    .option('--date-order <order>', 'mdy or dmy, for dates like 03/04/2020 (default mdy)')
    .option(
      '--dicom <file>',
      'a DICOM file of the same study: its names, IDs, dates, addresses and phones are found in the text too (repeatable)',
      (v: string, prev: string[] | undefined) => [...(prev ?? []), v],
    )
    .addHelpText(
      'after',
      `
Spans are offsets into the original text with type, confidence and rule; values are never printed apart from
the de-identified text itself. Surrogates are keyed: the same value and key give the same surrogate in every
document, and dates of one --patient-key move by the same number of days (intervals are kept).

Examples:
  veil text deid report.txt
  cat notes.jsonl | veil text deid --format jsonl --mode surrogate --key-file site.key
  veil text deid reports/*.txt --out /tmp/clean --mode mask
  veil text deid --format auto oru.hl7 report.fhir.json --dicom study/IM0001.dcm --out /tmp/clean
DICOM SR reports: veil deid with options.cleanStructuredContent runs this engine on the content tree's TextValues.`,
    )
    .action(async (files: string[], flags: TextFlags) => {
      await runCommand('text deid', async () => runTextDeid(files, flags));
    });
}

/** The identifying values of each DICOM file's header (every depth), as known values for the engine. */
function knownFromDicom(files: readonly string[]): KnownValue[] {
  const known: KnownValue[] = [];
  for (const f of files) {
    let bytes: Uint8Array;
    try {
      bytes = new Uint8Array(readFileSync(f));
    } catch (e) {
      throw new CliError(EXIT_USAGE, `cannot read ${f} (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
    }
    try {
      known.push(...knownValuesFrom(collectIdentifyingValues(scanFile(bytes).dataset, NO_OPTIONS)));
    } catch (e) {
      const code = (e as { code?: unknown }).code;
      throw new CliError(EXIT_USAGE, `${f}: not a readable DICOM file (${typeof code === 'string' ? code : 'error'})`);
    }
  }
  return known;
}

async function runTextDeid(files: string[], flags: TextFlags): Promise<number> {
  if (!FORMATS.includes(flags.format))
    throw new CliError(EXIT_USAGE, '--format must be text, jsonl, hl7, fhir or auto');
  if (!MODES.includes(flags.mode as OutputMode))
    throw new CliError(EXIT_USAGE, '--mode must be placeholder, surrogate or mask');
  if (flags.dateOrder !== undefined && flags.dateOrder !== 'mdy' && flags.dateOrder !== 'dmy') {
    throw new CliError(EXIT_USAGE, '--date-order must be mdy or dmy');
  }
  const threshold = flags.threshold === undefined ? undefined : Number(flags.threshold);
  if (threshold !== undefined && !(threshold >= 0 && threshold <= 1))
    throw new CliError(EXIT_USAGE, '--threshold must be between 0 and 1');
  const mode = flags.mode as OutputMode;
  const options: DeidentifyOptions = { mode };
  if (mode === 'surrogate') {
    options.key = loadKey({ keyFile: flags.keyFile, warn: (m) => process.stderr.write(`veil text deid: ${m}\n`) });
  }
  if (threshold !== undefined) options.threshold = threshold;
  if (flags.dateOrder !== undefined) options.dateOrder = flags.dateOrder as 'mdy' | 'dmy';
  if (flags.patientKey !== undefined) options.patientKey = flags.patientKey;
  if (flags.dicom !== undefined) options.known = knownFromDicom(flags.dicom);

  const inputs: { name: string; content: string; bytes: Buffer }[] = [];
  if (files.length === 0) {
    const content = await readStdin();
    inputs.push({ name: '-', content, bytes: Buffer.from(content, 'utf8') });
  }
  for (const f of files) {
    try {
      const bytes = readFileSync(f);
      inputs.push({ name: f, content: bytes.toString('utf8'), bytes });
    } catch (e) {
      throw new CliError(EXIT_USAGE, `cannot read ${f} (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
    }
  }
  if (flags.out !== undefined) mkdirSync(flags.out, { recursive: true });
  const seen = new Set<string>();
  let failures = 0;
  for (const input of inputs) {
    let output: string;
    const format = flags.format === 'auto' ? formatOf(input.name, input.bytes, input.content) : flags.format;
    if (format === 'hl7' || format === 'fhir') {
      try {
        output = (format === 'hl7' ? deidentifyHl7 : deidentifyFhir)(input.content, options).text;
      } catch (e) {
        // The engine's message is a stable code and a reason, never a value.
        const code = /^(TEXT_[A-Z0-9_]+)/.exec((e as Error).message)?.[1] ?? 'TEXT_REPORT_FAILED';
        process.stderr.write(`veil text deid: ${input.name}: ${code} (nothing written for it)\n`);
        failures++;
        continue;
      }
      if (flags.spans) process.stderr.write('veil text deid: --spans applies to --format text only\n');
    } else if (format === 'jsonl') {
      const lines: string[] = [];
      let lineNo = 0;
      for (const line of input.content.split('\n')) {
        lineNo++;
        if (line.trim() === '') continue;
        let obj: Record<string, unknown>;
        try {
          obj = JSON.parse(line) as Record<string, unknown>;
        } catch {
          process.stderr.write(
            `veil text deid: ${input.name}:${lineNo}: TEXT_BAD_JSONL (not a JSON object; line skipped)\n`,
          );
          failures++;
          continue;
        }
        if (typeof obj !== 'object' || obj === null || typeof obj.text !== 'string') {
          process.stderr.write(
            `veil text deid: ${input.name}:${lineNo}: TEXT_NO_TEXT_FIELD (no "text" string; line skipped)\n`,
          );
          failures++;
          continue;
        }
        const perRecord = typeof obj.patientKey === 'string' ? { ...options, patientKey: obj.patientKey } : options;
        const r = deidentify(obj.text, perRecord);
        lines.push(JSON.stringify({ ...obj, text: r.text, spans: r.spans.map(spanJson) }));
      }
      output = lines.length > 0 ? `${lines.join('\n')}\n` : '';
    } else {
      const r = deidentify(input.content, options);
      output = flags.spans
        ? `${JSON.stringify({ file: input.name, text: r.text, spans: r.spans.map(spanJson) })}\n`
        : r.text;
    }
    if (flags.out === undefined) {
      process.stdout.write(output);
      continue;
    }
    let name =
      input.name === '-'
        ? `stdin.${{ jsonl: 'jsonl', hl7: 'hl7', fhir: 'json' }[format] ?? 'txt'}`
        : basename(input.name);
    for (let n = 2; seen.has(name); n++) name = `${n}-${basename(input.name)}`;
    seen.add(name);
    const target = join(flags.out, name);
    if (input.name !== '-' && resolve(target) === resolve(input.name)) {
      throw new CliError(EXIT_USAGE, `--out would overwrite the input ${input.name}`);
    }
    writeFileSync(target, output);
  }
  return failures > 0 ? 1 : 0;
}
