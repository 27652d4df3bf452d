// What `pnpm bench` shows while the matrix runs: on a terminal, one progress
// bar with an ETA, redrawn in place; otherwise (CI, a pipe, a file) one plain
// line per finished cell, since a redrawn bar would fill a log with noise.

/** ProgressStream is where progress goes: stderr, or a test's buffer. */
export interface ProgressStream {
  readonly isTTY?: boolean;
  readonly columns?: number;
  write(text: string): unknown;
}

/** Progress is told what finished: each run, and each cell once all its seeds are done or it was found not applicable. */
export interface Progress {
  runDone(label: string): void;
  cellDone(line: string): void;
  finish(): void;
}

/** formatDuration writes seconds as "42 s" or "3 min 05 s". */
export function formatDuration(seconds: number): string {
  const whole = Math.max(0, Math.round(seconds));
  if (whole < 60) return `${whole} s`;
  return `${Math.floor(whole / 60)} min ${String(whole % 60).padStart(2, "0")} s`;
}

/**
 * createProgress returns the progress display for `runs` runs in `cells`
 * cells. The ETA assumes the runs left take as long on average as those done
 * (the matrix interleaves algorithms, so the average settles early), timed
 * from the first run's end, since the workers' start-up (loading the
 * TypeScript) comes once, before it.
 */
export function createProgress(stream: ProgressStream, runs: number, cells: number, nowMs: () => number = () => performance.now()): Progress {
  const startedMs = nowMs();
  let runsDone = 0;
  let firstDoneMs = 0;
  let cellsDone = 0;
  const tty = stream.isTTY === true;
  const barWidth = 30;
  const draw = (label: string): void => {
    const share = runs === 0 ? 1 : runsDone / runs;
    const filled = Math.round(share * barWidth);
    const elapsedS = (nowMs() - startedMs) / 1000;
    const eta = runsDone < 2 ? "--" : formatDuration(((nowMs() - firstDoneMs) / 1000 / (runsDone - 1)) * (runs - runsDone));
    const line = `[${"#".repeat(filled)}${"-".repeat(barWidth - filled)}] ${runsDone}/${runs} runs ${Math.floor(share * 100)}% elapsed ${formatDuration(elapsedS)} ETA ${eta}  ${label}`;
    // A pseudo-terminal may report 0 columns: then assume a common width. The label, last, is what a narrow one cuts.
    const columns = stream.columns !== undefined && stream.columns > 0 ? stream.columns : 120;
    stream.write(`\r\x1b[K${line.slice(0, Math.max(20, columns - 1))}`);
  };
  return {
    runDone(label) {
      runsDone++;
      if (runsDone === 1) firstDoneMs = nowMs();
      if (tty) draw(label);
    },
    cellDone(line) {
      cellsDone++;
      if (!tty) stream.write(`[${cellsDone}/${cells}] ${line}\n`);
    },
    finish() {
      if (tty) stream.write("\r\x1b[K");
    },
  };
}
