/**
 * kinembed used as a library from outside the repository, the way README.md shows: a script in a
 * temporary folder imports one subpath (`@kinembed/kinembed/webdataset`) and reads a shard set with
 * `--allow-read` only, once with the `deno.json` the README documents (the clone linked, the
 * subpath resolved through its `exports`) and once with no config at all. `--cached-only` and an empty `DENO_DIR` make any
 * attempt to fetch (or need) an npm package an error instead of a download.
 */
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { makeSyntheticWorkDir } from "../fixtures/synthetic_work_dir.ts";
import { shard } from "../lib/shard/mod.ts";
import { ShardReader } from "../lib/webdataset/mod.ts";
import { assert, assertEquals } from "./support/assert.ts";
import { repoPath, tempDir } from "./support/media.ts";

/** The README's `deno.json` and read-shards script, from its "Use as a library" section. */
async function readmeExample(): Promise<{ config: string; script: string }> {
  const readme = await Deno.readTextFile(repoPath("README.md"));
  const section = readme.slice(readme.indexOf("## Use as a library"));
  const config = /```json\n([\s\S]*?)```/.exec(section)?.[1];
  const script = /```ts\n(\/\/ read_shards\.ts[\s\S]*?)```/.exec(section)?.[1];
  assert(
    config && script,
    "README.md's Use as a library section shows a deno.json and read_shards.ts",
  );
  return { config, script };
}

/** One line per sample, as the README's script prints it. */
async function expectedLines(pattern: string): Promise<string[]> {
  const lines: string[] = [];
  for await (const s of new ShardReader(pattern)) {
    const n = s.embeddings.shape.reduce((a, b) => a * b, 1);
    lines.push(`${s.key} ${s.label} [ ${s.embeddings.shape.join(", ")} ] ${n}`);
  }
  return lines;
}

async function denoRun(cwd: string, args: string[], env: Record<string, string> = {}) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-prompt", "--cached-only", ...args],
    cwd,
    env: { NO_COLOR: "1", ...env },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

Deno.test("a script outside the repo reads shards through one subpath with --allow-read only", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const { layout } = await makeSyntheticWorkDir({
      dir: join(dir, "work"),
      counts: { train: 3, val: 2, test: 1 },
    });
    await shard({ work: layout.root, perShard: 2, quiet: true });
    const pattern = join(layout.shards, "ds_*.tar");
    const expected = await expectedLines(pattern);
    assertEquals(expected.length, 6);
    const { config, script } = await readmeExample();
    const withPattern = script.replace(
      /new ShardReader\("[^"]*"\)/,
      `new ShardReader(${JSON.stringify(pattern)})`,
    );
    assert(withPattern !== script, "the README's script names a shard pattern");

    // the documented deno.json, with the clone beside the project as ../kinembed
    const project = join(dir, "project");
    await Deno.mkdir(project);
    await Deno.symlink(repoPath(), join(dir, "kinembed"));
    await Deno.writeTextFile(join(project, "deno.json"), config);
    await Deno.writeTextFile(join(project, "read_shards.ts"), withPattern);
    const documented = await denoRun(project, ["--allow-read", "read_shards.ts"], {
      DENO_DIR: join(dir, "deno_dir"),
    });
    assertEquals(documented.code, 0, documented.stderr);
    assertEquals(documented.stdout.trim().split("\n"), expected);

    assert(script.includes('from "@kinembed/kinembed/webdataset"'), "the script imports a subpath");
    assert(
      !/--allow-(env|ffi|run|net|sys|write)/.test(script),
      "the README runs it with --allow-read",
    );

    // no config at all: the subpath's file by its URL, and no npm package can be resolved
    const bare = join(dir, "bare");
    await Deno.mkdir(bare);
    const faceUrl = pathToFileURL(repoPath("lib", "webdataset", "mod.ts")).href;
    const byUrl = withPattern.replace(
      'from "@kinembed/kinembed/webdataset"',
      `from ${JSON.stringify(faceUrl)}`,
    );
    assert(byUrl !== withPattern, "the script's import names the subpath");
    await Deno.writeTextFile(join(bare, "read_shards.ts"), byUrl);
    const noConfig = await denoRun(
      bare,
      ["--no-config", "--no-lock", "--allow-read", "read_shards.ts"],
      { DENO_DIR: join(dir, "deno_dir") },
    );
    assertEquals(noConfig.code, 0, noConfig.stderr);
    assertEquals(noConfig.stdout.trim().split("\n"), expected);
  } finally {
    await cleanup();
  }
});

Deno.test("offline, --config <clone>/deno.json gives an outside script the npm parts too", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const modUrl = pathToFileURL(repoPath("lib", "onnx", "mod.ts")).href;
    await Deno.writeTextFile(
      join(dir, "build.ts"),
      `import { buildVisionModel, readModel } from ${JSON.stringify(modUrl)};\n` +
        `const { bytes } = await buildVisionModel({ size: "tiny" });\n` +
        `console.log((await readModel(bytes)).inputs[0].name);\n`,
    );
    const r = await denoRun(dir, [
      "--config",
      repoPath("deno.json"),
      "--allow-read",
      "--allow-env",
      "build.ts",
    ]);
    assertEquals(r.code, 0, r.stderr);
    assertEquals(r.stdout.trim(), "pixel_values");
  } finally {
    await cleanup();
  }
});
