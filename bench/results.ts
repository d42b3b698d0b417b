/** Recording benchmark tables in `bench/RESULTS.md`: newest on top, each with date, machine, command. */
import { cpus, totalmem } from "node:os";

/** Where the tables are kept. */
export const RESULTS_PATH: string = new URL("./RESULTS.md", import.meta.url).pathname;

/**
 * A one-line description of this machine.
 * @returns e.g. `2 × Intel Xeon ..., 24 GiB, Linux`
 */
export function machineLine(): string {
  const c = cpus();
  return `${c.length} × ${c[0]?.model.trim() ?? "unknown CPU"}, ${
    (totalmem() / 2 ** 30).toFixed(0)
  } GiB, ${Deno.build.os}`;
}

/**
 * Puts a table at the top of `bench/RESULTS.md` (under its title), keeping every older table.
 * @param title the table's heading
 * @param command the command that made it
 * @param table the Markdown table
 * @param note an optional paragraph under the table
 * @param machine the machine that ran it (default this one)
 */
export async function recordTable(
  title: string,
  command: string,
  table: string,
  note = "",
  machine: string = machineLine(),
): Promise<void> {
  const head =
    "# Benchmark results\n\nNewest first. Every table keeps its date, machine and command.\n";
  let old = "";
  try {
    old = await Deno.readTextFile(RESULTS_PATH);
  } catch {
    old = head;
  }
  if (!old.startsWith("# ")) old = head + "\n" + old;
  const cut = old.indexOf("\n## ");
  const top = cut < 0 ? old.trimEnd() + "\n" : old.slice(0, cut + 1);
  const rest = cut < 0 ? "" : old.slice(cut + 1);
  const entry = `## ${title} — ${new Date().toISOString().slice(0, 10)}\n\nMachine: ${machine}. ` +
    `Command: \`${command}\`\n\n${table}\n${note ? "\n" + note + "\n" : ""}\n`;
  await Deno.writeTextFile(RESULTS_PATH, `${top}\n${entry}${rest}`);
}

/** One task run under `/usr/bin/time`. */
export interface TimedTask {
  /** Exit code. */
  code: number;
  /** Wall seconds. */
  wall: number;
  /** CPU seconds (user + system). */
  cpu: number;
  /** Peak RSS, MB. */
  rssMb: number;
  /** Its stdout and stderr, without the timing line. */
  text: string;
}

/**
 * Runs `deno task --quiet <args>` in a checkout under `/usr/bin/time`: wall, CPU and peak RSS.
 * @param cwd the checkout whose task runs
 * @param args the task and its flags
 * @returns the figures and the output
 */
export async function timeTask(cwd: string, args: string[]): Promise<TimedTask> {
  const t = await timeCommand(["deno", "task", "--quiet", ...args], cwd);
  return { code: t.code, wall: t.wall, cpu: t.cpu, rssMb: t.rssMb, text: t.stdout + t.stderr };
}

/** One command run under `/usr/bin/time`, its outputs apart. */
export interface TimedCommand {
  /** Exit code. */
  code: number;
  /** Wall seconds. */
  wall: number;
  /** CPU seconds (user + system), its waited-for children included. */
  cpu: number;
  /** Peak RSS of the largest process, MB. */
  rssMb: number;
  /** Its stdout. */
  stdout: string;
  /** Its stderr, without the timing line. */
  stderr: string;
}

/**
 * Runs a command under GNU `/usr/bin/time`: wall, CPU and peak RSS.
 * @param command the program and its arguments
 * @param cwd where it runs (default here)
 * @returns the figures and the outputs (figures NaN when time printed none)
 */
export async function timeCommand(command: string[], cwd?: string): Promise<TimedCommand> {
  const out = await new Deno.Command("/usr/bin/time", {
    args: ["-f", "KTIME %e %U %S %M", ...command],
    cwd,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  const stderr = dec.decode(out.stderr);
  const m = /KTIME ([\d.]+) ([\d.]+) ([\d.]+) (\d+)\s*$/.exec(stderr);
  const [wall, user, sys, kb] = m ? m.slice(1).map(Number) : [NaN, NaN, NaN, NaN];
  return {
    code: out.code,
    wall,
    cpu: user + sys,
    rssMb: kb / 1024,
    stdout: dec.decode(out.stdout),
    stderr: stderr.split("\n").filter((l) => !l.startsWith("KTIME")).join("\n"),
  };
}
