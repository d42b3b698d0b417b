/**
 * A task started by another process ends with it: Slurm's or Kubernetes' step, `deno task`, or
 * the launcher may be killed by SIGKILL, which cannot be passed on, and with
 * `proctrack/linuxproc` nothing else stops the process it started. Deno has no
 * `PR_SET_PDEATHSIG`, but `Deno.ppid` is read afresh each time and needs no permission: when the
 * parent dies the process is handed to init (or a subreaper), and its parent pid changes.
 * @module
 */

/** How often the parent pid is looked at: a dead parent is noticed within this time. */
export const PARENT_POLL_MS = 200;

/**
 * Calls `onGone` once when the process that started this one has died (its parent pid changed).
 * The timer does not keep the process alive.
 * @param onGone what to do then, e.g. stop a child and exit
 * @returns a function that stops watching
 * @example
 * ```ts
 * import { watchParent } from "./parent_watch.ts";
 * const stop = watchParent(() => Deno.exit(1));
 * stop();
 * ```
 */
export function watchParent(onGone: () => void): () => void {
  const parent = Deno.ppid;
  // already orphaned at start (a daemon's child, or started by init): nothing to watch
  if (parent <= 1) return () => {};
  const timer = setInterval(() => {
    if (Deno.ppid === parent) return;
    clearInterval(timer);
    onGone();
  }, PARENT_POLL_MS);
  Deno.unrefTimer(timer);
  return () => clearInterval(timer);
}
