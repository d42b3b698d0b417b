/**
 * Starts a task with the least Deno permissions it needs: `deno task <name> ...` runs this with
 * the `launcher` permission set of `deno.json` (read access, a few environment variables and the
 * right to start `deno`, nothing more); it computes the task's flags from its arguments
 * (`lib/cli/task_permissions.ts`) and runs `deno run <flags> tasks/<name>.ts <args>` in the
 * directory the command was typed in (`INIT_CWD`, set by `deno task` and `./kinembed`), passing
 * signals on and exiting with the task's status; when its own parent dies (even by SIGKILL) it
 * stops the task, which also stops by itself when this launcher dies (`lib/cli/parent_watch.ts`). `KINEMBED_SHOW_PERMISSIONS=1` prints the command first.
 * @module
 */
import { ConfigError, UsageError } from "../lib/core/mod.ts";
import { denoRunArgs, printableLine, taskLaunch, watchParent } from "../lib/cli/mod.ts";

const SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;
const SIGNAL_NUMBERS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 };

/** Quotes an argument for display in a shell. */
function shellQuote(s: string): string {
  return /^[A-Za-z0-9_\-.,:=/@+]+$/.test(s) ? s : `'${s.replaceAll("'", `'\\''`)}'`;
}

async function main(): Promise<number> {
  const [task, ...args] = Deno.args;
  if (task === undefined) {
    console.error("usage: deno run ... tasks/launch.ts <task> [flags]");
    return 2;
  }
  let launch;
  try {
    launch = await taskLaunch(task, args);
  } catch (e) {
    if (e instanceof UsageError || e instanceof ConfigError) {
      console.error(printableLine(`kinembed ${task}: ${e.message}`));
      return 2;
    }
    // one line, not a stack; the launcher's permissions do not include KINEMBED_DEBUG, so only
    // `deno run -A tasks/launch.ts` can be asked for the stack
    const name = printableLine(task, 40);
    const debug = Deno.permissions.querySync({ name: "env", variable: "KINEMBED_DEBUG" })
          .state === "granted" && Deno.env.get("KINEMBED_DEBUG") === "1";
    const where = debug
      ? "the stack follows"
      : `KINEMBED_DEBUG=1 deno run -A tasks/launch.ts ${name} ... prints the stack`;
    console.error(`kinembed ${name}: unexpected error: ${printableLine(String(e), 160)}; ${where}`);
    if (debug) console.error(e);
    return 2;
  }
  const denoArgs = denoRunArgs(launch, args);
  if (Deno.env.get("KINEMBED_SHOW_PERMISSIONS") === "1") {
    const env = Object.entries(launch.env).map(([k, v]) => `${k}=${shellQuote(v)} `).join("");
    console.error(`kinembed: ${env}deno ${denoArgs.map(shellQuote).join(" ")}`);
  }
  // `deno` from PATH: --allow-run=deno allows exactly that binary
  const child = new Deno.Command("deno", {
    args: denoArgs,
    // relative paths and the default --work are the caller's, as in any command
    cwd: launch.cwd,
    env: launch.env,
    stdin: "inherit",
    stdout: "inherit",
    stderr: "inherit",
  }).spawn();
  const forward = SIGNALS.map((sig) => {
    const handler = () => {
      try {
        child.kill(sig);
      } catch { /* it has exited */ }
    };
    Deno.addSignalListener(sig, handler);
    return () => Deno.removeSignalListener(sig, handler);
  });
  // `deno task` (or the batch step that ran it) killed, even by SIGKILL: the task stops too (it
  // also watches this launcher, so it stops within PARENT_POLL_MS of this one exiting)
  const unwatch = watchParent(() => {
    try {
      child.kill("SIGTERM");
    } catch { /* it has exited */ }
    Deno.exit(137);
  });
  const status = await child.status;
  unwatch();
  for (const off of forward) off();
  if (status.signal !== null) return 128 + (SIGNAL_NUMBERS[status.signal] ?? 0);
  return status.code;
}

Deno.exit(await main());
