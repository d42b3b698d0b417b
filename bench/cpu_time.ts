/**
 * CPU seconds of a command and every process under it that was waited for, read from bash's
 * `times` builtin (Deno may not read `/proc/self/stat`), so that a benchmark can charge a step
 * with every ffmpeg it ran, whatever the parallelism and the load on the machine.
 */

/** What one measured command used. */
export interface CpuMeasure {
  /** User + system CPU seconds of the command and its waited-for descendants. */
  cpu: number;
  /** Wall seconds. */
  wall: number;
  /** Its standard output. */
  stdout: string;
}

function seconds(t: string): number {
  const m = /^(\d+)m([\d.]+)s$/.exec(t.trim());
  if (!m) throw new Error(`bash times: cannot read ${JSON.stringify(t)}`);
  return Number(m[1]) * 60 + Number(m[2]);
}

/**
 * Runs a command under `bash -c '"$@"; times'` and measures it.
 * @param command the program
 * @param args its arguments
 * @param env extra environment variables
 * @returns CPU and wall seconds and its stdout; throws when it fails
 */
export async function measureCommand(
  command: string,
  args: readonly string[],
  env: Record<string, string> = {},
): Promise<CpuMeasure> {
  const t0 = performance.now();
  const out = await new Deno.Command("bash", {
    args: ["-c", '"$@" || exit; echo; echo __times__; times', "bash", command, ...args],
    env,
    stdin: "null",
  }).output();
  const wall = (performance.now() - t0) / 1000;
  const text = new TextDecoder().decode(out.stdout);
  if (!out.success) {
    throw new Error(`${command} ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  }
  const cut = text.lastIndexOf("\n__times__\n");
  // `times`: the shell's own user and system time, then its children's
  const children = text.slice(cut + 11).trim().split("\n")[1].trim().split(/\s+/);
  return {
    cpu: seconds(children[0]) + seconds(children[1]),
    wall,
    stdout: text.slice(0, cut),
  };
}
