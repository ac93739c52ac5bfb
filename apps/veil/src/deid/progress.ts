/**
 * Progress of a run on stderr: a cli-progress bar when stderr is a terminal, otherwise a plain line every
 * LINE_EVERY_FILES files or LINE_EVERY_MS milliseconds (logs, CI). Counts only, never a file name or value.
 */
import cliProgress from 'cli-progress';

const LINE_EVERY_FILES = 500;
const LINE_EVERY_MS = 5000;

export interface Progress {
  tick(counts: { quarantined: number; errors: number }): void;
  stop(): void;
}

export function createProgress(total: number, stream: NodeJS.WriteStream, enabled = true): Progress {
  const started = Date.now();
  let done = 0;
  if (!enabled || total === 0) return { tick: () => {}, stop: () => {} };
  if (stream.isTTY) {
    const bar = new cliProgress.SingleBar(
      {
        stream,
        format:
          'veil deid [{bar}] {value}/{total} files | {rate} files/s | quarantined {quarantined} | errors {errors} | eta {eta_formatted}',
        hideCursor: true,
        clearOnComplete: false,
        etaBuffer: 200,
      },
      cliProgress.Presets.shades_classic,
    );
    bar.start(total, 0, { rate: '0.0', quarantined: 0, errors: 0 });
    return {
      tick(counts) {
        done++;
        const s = (Date.now() - started) / 1000;
        bar.update(done, { rate: (s > 0 ? done / s : 0).toFixed(1), ...counts });
      },
      stop: () => bar.stop(),
    };
  }
  let lastLine = started;
  let lastCount = 0;
  const line = (counts: { quarantined: number; errors: number }): void => {
    const s = (Date.now() - started) / 1000;
    stream.write(
      `veil deid: ${done}/${total} files (${Math.floor((100 * done) / total)}%), ${(s > 0 ? done / s : 0).toFixed(1)} files/s, quarantined ${counts.quarantined}, errors ${counts.errors}\n`,
    );
    lastLine = Date.now();
    lastCount = done;
  };
  return {
    tick(counts) {
      done++;
      if (done === total) return;
      if (done - lastCount >= LINE_EVERY_FILES || Date.now() - lastLine >= LINE_EVERY_MS) line(counts);
    },
    stop: () => {},
  };
}
