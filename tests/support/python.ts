/** Runs Debian's Python (`/usr/bin/python3`, with numpy) as an independent reference in unit tests. */

/**
 * Runs a Python script and returns what it printed; a failing script fails the test with its stderr.
 * @param script the program text (`python3 -c`)
 * @param args its `sys.argv[1:]`
 * @returns its stdout
 */
export async function runPython(script: string, args: string[] = []): Promise<string> {
  const out = await new Deno.Command("/usr/bin/python3", {
    args: ["-c", script, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  if (!out.success) throw new Error(`python3 failed (exit ${out.code}): ${stderr.slice(-2000)}`);
  return new TextDecoder().decode(out.stdout);
}

/**
 * Runs a Python script that prints one JSON document and parses it.
 * @param script the program text
 * @param args its `sys.argv[1:]`
 * @returns the parsed output
 */
export async function pythonJson<T>(script: string, args: string[] = []): Promise<T> {
  return JSON.parse(await runPython(script, args)) as T;
}
