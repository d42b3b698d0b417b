/** Running kinembed's tasks from tests: as a user does (`deno task`), or a task file directly. */
import { LAUNCHED_TASKS } from "../../lib/cli/mod.ts";
import { repoPath } from "./media.ts";

/** What a task run printed, and its exit code. */
export interface TaskRun {
  /** Exit code. */
  code: number;
  /** Standard output. */
  stdout: string;
  /** Standard error. */
  stderr: string;
}

async function collect(cmd: Deno.Command): Promise<TaskRun> {
  const out = await cmd.output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/**
 * Runs `deno task --quiet <name> <args>` from the repository root, through the launcher and its
 * least-privilege permissions, as a user does.
 * @param name the task
 * @param args its arguments
 * @param env extra environment variables
 */
export function denoTask(
  name: string,
  args: readonly string[],
  env: Record<string, string> = {},
): Promise<TaskRun> {
  return collect(
    new Deno.Command("deno", {
      args: ["task", "--quiet", name, ...args],
      cwd: repoPath(),
      env,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }),
  );
}

/**
 * Runs a task's file directly (`deno run -A tasks/<file>.ts <args>`), without the launcher.
 * @param name the task, as `kinembed <name>` takes it
 * @param args its arguments
 */
export function taskFile(name: string, args: readonly string[]): Promise<TaskRun> {
  const file = LAUNCHED_TASKS[name] ?? `${name}.ts`;
  return collect(
    new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", repoPath("tasks", file), ...args],
      stdout: "piped",
      stderr: "piped",
    }),
  );
}
