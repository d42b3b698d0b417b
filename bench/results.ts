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
  const out = await new Deno.Command("/usr/bin/time", {
    args: ["-f", "KTIME %e %U %S %M", "deno", "task", "--quiet", ...args],
    cwd,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  const m = /KTIME ([\d.]+) ([\d.]+) ([\d.]+) (\d+)/.exec(text);
  const [wall, user, sys, kb] = m ? m.slice(1).map(Number) : [NaN, NaN, NaN, NaN];
  return {
    code: out.code,
    wall,
    cpu: user + sys,
    rssMb: kb / 1024,
    text: text.split("\n").filter((l) => !l.startsWith("KTIME")).join("\n"),
  };
}
