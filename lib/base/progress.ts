/**
 * Progress for long steps: a bar with rate and ETA on a terminal, one summary line every few
 * seconds otherwise (logs, CI, Slurm).
 * @module
 */

/**
 * Where progress lines go. On a terminal it keeps the bars that are running at the bottom, one a
 * line, redrawing them in place (so decode and encode running at once do not overwrite each other);
 * elsewhere every line is appended.
 */
export class ProgressBoard {
  #live: { line: string }[] = [];
  #drawn = 0;
  #enc = new TextEncoder();

  /**
   * A board writing through `write`.
   * @param write receives the bytes to print
   * @param tty whether `write` goes to a terminal (bars redrawn in place)
   */
  constructor(
    readonly write: (bytes: Uint8Array) => void,
    readonly tty: boolean,
  ) {}

  /**
   * Shows a bar's line: redrawn in place on a terminal, appended elsewhere.
   * @param bar the bar (its identity keeps its line)
   * @param line its text
   * @param final the bar is done: its line stays and it leaves the live region
   */
  show(bar: { line: string }, line: string, final: boolean): void {
    if (!this.tty) {
      this.write(this.#enc.encode(line + "\n"));
      return;
    }
    bar.line = line;
    if (!this.#live.includes(bar)) this.#live.push(bar);
    let out = this.#drawn > 1 ? `\x1b[${this.#drawn - 1}A` : "";
    out += "\r";
    if (final) {
      this.#live = this.#live.filter((b) => b !== bar);
      out += `\x1b[2K${line}\n`;
    }
    out += this.#live.map((b) => `\x1b[2K${b.line}`).join("\n");
    // lines a finished bar left below the region
    const stale = this.#drawn - this.#live.length - (final ? 1 : 0);
    if (stale > 0) out += "\x1b[J";
    this.#drawn = this.#live.length;
    this.write(this.#enc.encode(out));
  }
}

let stderrBoard: ProgressBoard | null = null;

/**
 * The board of the process's stderr, shared by every bar that writes there.
 * @returns the board
 */
export function stderrProgressBoard(): ProgressBoard {
  stderrBoard ??= new ProgressBoard(
    (b) => {
      Deno.stderr.writeSync(b);
    },
    Deno.stderr.isTerminal(),
  );
  return stderrBoard;
}

/** Counts one stage's items (and optionally a second unit such as frames or bytes). */
export class Progress {
  #label: string;
  #total: number;
  #done = 0;
  #extra = 0;
  #extraUnit: string;
  #start = performance.now();
  #last = 0;
  #tty: boolean;
  #intervalMs: number;
  #quiet: boolean;
  #board: ProgressBoard;
  #slot = { line: "" };

  /**
   * A counter that prints nothing until its first tick.
   * @param label what is counted, e.g. `sample`
   * @param total how many items are expected (0 when unknown)
   * @param opts `extraUnit` names a second counter (frames, MB); `quiet` prints nothing; `board`
   *   where lines go (default: stderr's)
   */
  constructor(
    label: string,
    total: number,
    opts: { extraUnit?: string; quiet?: boolean; intervalMs?: number; board?: ProgressBoard } = {},
  ) {
    this.#label = label;
    this.#total = total;
    this.#extraUnit = opts.extraUnit ?? "";
    this.#quiet = opts.quiet ?? false;
    this.#board = opts.board ?? stderrProgressBoard();
    this.#tty = this.#board.tty;
    this.#intervalMs = opts.intervalMs ?? (this.#tty ? 200 : 5000);
  }

  /**
   * Records finished items.
   * @param items how many items finished
   * @param extra how much of the second unit they carried
   */
  tick(items = 1, extra = 0): void {
    this.#done += items;
    this.#extra += extra;
    const now = performance.now();
    if (now - this.#last >= this.#intervalMs) {
      this.#last = now;
      this.#print(false);
    }
  }

  /** Prints the final line. */
  finish(): void {
    this.#print(true);
  }

  /** Items per second so far. */
  get rate(): number {
    return this.#done / Math.max(1e-9, (performance.now() - this.#start) / 1000);
  }

  #print(final: boolean): void {
    if (this.#quiet) return;
    const secs = (performance.now() - this.#start) / 1000;
    const rate = this.#done / Math.max(secs, 1e-9);
    const extraRate = this.#extra / Math.max(secs, 1e-9);
    const left = this.#total > 0 ? Math.max(0, this.#total - this.#done) : 0;
    const eta = rate > 0 && left > 0 ? ` ETA ${formatSeconds(left / rate)}` : "";
    const extra = this.#extraUnit
      ? ` ${this.#extra.toFixed(0)} ${this.#extraUnit} (${extraRate.toFixed(1)}/s)`
      : "";
    const count = this.#total > 0 ? `${this.#done}/${this.#total}` : `${this.#done}`;
    let bar = "";
    if (this.#tty && this.#total > 0) {
      const w = 24, filled = Math.round((w * this.#done) / this.#total);
      bar = `[${"#".repeat(filled)}${".".repeat(w - filled)}] `;
    }
    const line = `${this.#label}: ${bar}${count} (${rate.toFixed(2)}/s)${extra}${
      final ? ` in ${formatSeconds(secs)}` : eta
    }`;
    this.#board.show(this.#slot, line, final);
  }
}

/**
 * Formats a duration for humans.
 * @param s seconds
 * @returns e.g. `42s`, `3m05s`, `2h10m`
 */
export function formatSeconds(s: number): string {
  if (s < 60) return `${s.toFixed(s < 10 ? 1 : 0)}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(Math.floor(s % 60)).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}
