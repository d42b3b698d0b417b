/**
 * The command line: strict flags and exit codes, the flags the steps share, and each task's
 * least-privilege Deno permissions.
 * @module
 */
export * from "./flags.ts";
export * from "./step_flags.ts";
export * from "./task_permissions.ts";
