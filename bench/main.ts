/**
 * `deno task bench <name> [flags]`: runs one benchmark; each prints a table with ratios against a
 * baseline measured in the same run, and `--record` (or the benchmark's own default) keeps it in
 * `bench/RESULTS.md`.
 *
 *   pipeline   sample vs bare ffmpeg, encode vs bare session.run, run vs the slower stage
 *   decode     CPU per clip: sample vs `ffmpeg -f null`, static vs Debian ffmpeg, K700 budget
 *   probe      linear probe vs scikit-learn's lbfgs on the same features
 *   shard      shard + verify at the published size vs sha256sum
 *   faults     SIGKILL every step at random moments, rerun, compare with a clean run
 *   agreement  CLIP checkpoints built into ONNX vs the TypeScript reference forward pass
 *   preset     the clip preset (Pillow-exact) vs clip-swscale: time per clip and pixel difference
 *   k700       Kinetics-700-2020 at its real shape: every step and its no-op rerun, 10k to 645k rows
 *   rerun      a finished run's work dir at 10k to 645k videos: run's and shard's reruns (no decoding)
 *   search     exact text-to-video top-k at 536k videos vs NumPy's in-memory inner product

 *   cores      encode at 1, 2, all threads vs bare session.run; run vs the steps and the ideal; no-op
 *   gpu        how to run the GPU kit (it runs on a lent GPU machine, see bench/gpu/README.md)
 */
const BENCHES: Record<string, string> = {
  pipeline: "pipeline_bench.ts",
  decode: "decode_budget.ts",
  probe: "linear_probe_bench.ts",
  shard: "shard_scale.ts",
  faults: "faults.ts",
  agreement: "checkpoint_agreement.ts",
  preset: "preset_bench.ts",
  k700: "k700.ts",
  rerun: "rerun_scale.ts",
  search: "search_bench.ts",

  cores: "cores_bench.ts",
};

const [name, ...rest] = Deno.args;
if (name === "gpu") {
  console.log(await Deno.readTextFile(new URL("./gpu/README.md", import.meta.url)));
  Deno.exit(0);
}
if (!name || !(name in BENCHES)) {
  console.error(
    `usage: deno task bench <${[...Object.keys(BENCHES), "gpu"].join(" | ")}> [flags]  ` +
      "(each takes --help)",
  );
  Deno.exit(name === undefined || name === "--help" ? 0 : 2);
}
const script = new URL(`./${BENCHES[name]}`, import.meta.url).pathname;
const { code } = await new Deno.Command(Deno.execPath(), {
  // the same permissions as `deno task bench` itself (deno.json)
  args: [
    "run",
    "--allow-read",
    "--allow-write",
    "--allow-run",
    "--allow-env",
    "--allow-ffi",
    "--allow-sys",
    "--allow-net=127.0.0.1,localhost",
    script,
    ...rest,
  ],
  stdin: "inherit",
  stdout: "inherit",
  stderr: "inherit",
}).output();
Deno.exit(code);
