/**
 * What `--model` and `kinembed model` promise, through the tasks as a user types them: a built
 * encoder is reused only for the same weights read with the same architecture (a `gelu` config
 * and a `quick_gelu` one, or a bare file and then its folder, get encoders of their own); a hub
 * that cannot be reached (a closed port, a server that never answers) fails within seconds naming
 * the repo and the ways out; a redirect loop is called one; a device or FIFO given as the model is
 * refused at once, naming it; a file that does not parse is named in one short line.
 */
import { join } from "node:path";
import { assert, assertEquals } from "./support/assert.ts";
import { lavfiVideo, repoPath, tempDir, workWithVideos } from "./support/media.ts";
import {
  checkpointConfig,
  TINY_CHECKPOINT_TEXT,
  TINY_CHECKPOINT_VISION,
  writeFixtureCheckpoint,
} from "../fixtures/clip_checkpoints.ts";
import { readNpy } from "../lib/core/mod.ts";

interface Run {
  code: number;
  stdout: string;
  stderr: string;
  /** Wall-clock seconds, launcher included. */
  seconds: number;
}

/**
 * `deno task --quiet <name> <args>` from the repository root, killed (with everything it started)
 * after `limitS` seconds so that a task that hangs fails the test instead of stalling it.
 */
async function task(
  name: string,
  args: string[],
  env: Record<string, string> = {},
  limitS = 180,
): Promise<Run> {
  const started = performance.now();
  // `timeout` signals its whole process group: the launcher and the task it runs
  const out = await new Deno.Command("timeout", {
    args: ["-s", "KILL", String(limitS), "deno", "task", "--quiet", name, ...args],
    cwd: repoPath(),
    env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return {
    code: out.code,
    stdout: dec.decode(out.stdout),
    stderr: dec.decode(out.stderr),
    seconds: (performance.now() - started) / 1000,
  };
}

/** Asserts a refusal: exit code 2 and one line on stderr, which it returns. */
function oneLineRefusal(r: Run): string {
  assertEquals(r.code, 2, r.stdout + r.stderr);
  const lines = r.stderr.trim().split("\n");
  assertEquals(lines.length, 1, r.stderr);
  assert(lines[0].length <= 300, `${lines[0].length} characters: ${lines[0]}`);
  assert(!/\n\s+at /.test(r.stderr), r.stderr);
  return lines[0];
}

/** A transformers-layout config for the tiny fixture shapes with one activation. */
function tinyConfig(activation: "gelu" | "quick_gelu", heads?: number): string {
  const vision = { ...TINY_CHECKPOINT_VISION, ...(heads ? { heads } : {}) };
  const text = { ...TINY_CHECKPOINT_TEXT, ...(heads ? { heads } : {}) };
  return JSON.stringify(checkpointConfig("transformers", vision, text, activation), null, 2) + "\n";
}

/** The lines of `model build` split into `built`/`cached` and the path. */
function buildLines(r: Run): { state: string; path: string }[] {
  assertEquals(r.code, 0, r.stdout + r.stderr);
  return r.stdout.trim().split("\n").map((l) => {
    const m = /^(built|cached): (.+)$/.exec(l);
    assert(m !== null, l);
    return { state: m[1], path: m[2] };
  });
}

/** Largest difference between two embedding files, relative to the largest value. */
async function relativeDifference(a: string, b: string): Promise<number> {
  const x = readNpy(await Deno.readFile(a)), y = readNpy(await Deno.readFile(b));
  assertEquals(x.shape, y.shape);
  const xs = x.data as Float32Array, ys = y.data as Float32Array;
  let diff = 0, scale = 0;
  for (let i = 0; i < xs.length; i++) {
    diff = Math.max(diff, Math.abs(xs[i] - ys[i]));
    scale = Math.max(scale, Math.abs(xs[i]));
  }
  return diff / scale;
}

Deno.test("the same weights with a gelu and a quick_gelu config: two cache entries, two keys, different embeddings", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const quick = join(dir, "quick"), gelu = join(dir, "gelu");
    await writeFixtureCheckpoint(quick, { layout: "transformers", seed: 21 });
    // the very same weights file, its config saying gelu
    await Deno.mkdir(gelu);
    await Deno.copyFile(join(quick, "model.safetensors"), join(gelu, "model.safetensors"));
    await Deno.writeTextFile(join(gelu, "config.json"), tinyConfig("gelu"));
    const env = { KINEMBED_MODEL_CACHE: join(dir, "built") };

    const first = buildLines(await task("model", ["build", quick, "--variant", "float32"], env));
    assertEquals(first.map((l) => l.state), ["built", "built"]);
    const second = buildLines(await task("model", ["build", gelu, "--variant", "float32"], env));
    // today's cache hands the quick_gelu encoder back, announced as cached
    assertEquals(second.map((l) => l.state), ["built", "built"]);
    for (const [i, l] of second.entries()) assert(l.path !== first[i].path, l.path);

    const infoOf = async (ckpt: string) => {
      const r = await task("model", ["info", ckpt, "--json"], env);
      assertEquals(r.code, 0, r.stderr);
      return JSON.parse(r.stdout);
    };
    const [qi, gi] = [await infoOf(quick), await infoOf(gelu)];
    assertEquals(qi.sha256, gi.sha256);
    assertEquals([qi.arch.visionActivation, gi.arch.visionActivation], ["quick_gelu", "gelu"]);
    assert(/^[0-9a-f]{64}$/.test(qi.cacheKey) && qi.cacheKey !== gi.cacheKey, qi.cacheKey);
    assertEquals(qi.built["vision-float32"], first[0].path);
    assertEquals(gi.built["vision-float32"], second[0].path);

    // the text output says what the key is and what it covers
    const text = await task("model", ["info", gelu], env);
    assertEquals(text.code, 0, text.stderr);
    assert(text.stdout.includes(`cache key:   ${gi.cacheKey}\n`), text.stdout);
    const covers = text.stdout.split("\n").find((l) => l.startsWith("key covers:"));
    assert(covers && /sha256/.test(covers) && /activation/.test(covers), text.stdout);

    // encode with each: the embeddings differ as GELU and quick-GELU do
    const video = await lavfiVideo(join(dir, "v.mp4"), "testsrc=s=160x120:r=10:d=1");
    const emb: string[] = [];
    for (const [name, ckpt] of [["wq", quick], ["wg", gelu]]) {
      const work = join(dir, name);
      await workWithVideos(work, [{ id: "clip", path: video }]);
      const s = await task("sample", ["--work", work, "--quiet"], env);
      assertEquals(s.code, 0, s.stderr);
      const e = await task(
        "encode",
        ["--work", work, "--model", ckpt, "--providers", "cpu", "--dtype", "float32", "--quiet"],
        env,
      );
      assertEquals(e.code, 0, e.stderr);
      emb.push(join(work, "emb", "clip.npy"));
    }
    const rel = await relativeDifference(emb[0], emb[1]);
    assert(rel > 1e-4, `the gelu encoder gives the quick_gelu embeddings (relative ${rel})`);
  } finally {
    await cleanup();
  }
});

Deno.test("a bare .safetensors file, then its folder with a gelu config: the folder gets an encoder of its own", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const bare = await writeFixtureCheckpoint(join(dir, "bare"), {
      layout: "transformers",
      seed: 22,
      bare: true,
    });
    const folder = join(dir, "folder");
    await Deno.mkdir(folder);
    await Deno.copyFile(bare.weightsFile, join(folder, "model.safetensors"));
    // the shapes a bare file infers (64-wide heads: one head at these widths), only gelu differs
    await Deno.writeTextFile(join(folder, "config.json"), tinyConfig("gelu", 1));
    const env = { KINEMBED_MODEL_CACHE: join(dir, "built") };

    const first = buildLines(
      await task("model", ["build", bare.path, "--variant", "float32"], env),
    );
    assertEquals(first.map((l) => l.state), ["built", "built"]);
    const second = buildLines(await task("model", ["build", folder, "--variant", "float32"], env));
    assertEquals(second.map((l) => l.state), ["built", "built"]);
    assert(second[0].path !== first[0].path, second[0].path);
    // each again: now cached, each its own
    const again = buildLines(
      await task("model", ["build", bare.path, "--variant", "float32"], env),
    );
    assertEquals(again, first.map((l) => ({ ...l, state: "cached" })));

    const info = await task("model", ["info", folder, "--json"], env);
    assertEquals(info.code, 0, info.stderr);
    const parsed = JSON.parse(info.stdout);
    assertEquals(parsed.arch.vision.heads, 1);
    assertEquals(parsed.arch.visionActivation, "gelu");
    assertEquals(parsed.built["vision-float32"], second[0].path);
  } finally {
    await cleanup();
  }
});

/** A port on 127.0.0.1 that nothing listens on. */
function closedPort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

Deno.test("an unreachable hub fails within 10 s naming the repo and the ways out: a closed port, a server that never answers", async (t) => {
  const { dir, cleanup } = await tempDir();
  try {
    const env = (endpoint: string) => ({
      HF_ENDPOINT: endpoint,
      HF_HUB_CACHE: join(dir, "hf", "hub"),
      KINEMBED_MODEL_CACHE: join(dir, "built"),
    });
    const check = (r: Run, cause: string) => {
      const line = oneLineRefusal(r);
      assert(r.seconds < 10, `${r.seconds.toFixed(1)} s: ${line}`);
      assert(line.includes("test/no-such-model"), line);
      assert(line.includes(cause), line);
      for (const way of ["HF_HUB_OFFLINE=1", "local checkpoint", "HF_ENDPOINT"]) {
        assert(line.includes(way), `${way} not named: ${line}`);
      }
      // the repo is unreachable, not missing a file: the other layout is not tried
      assert(!line.includes("open_clip_config.json"), line);
    };

    await t.step("a closed port (model fetch)", async () => {
      const r = await task(
        "model",
        ["fetch", "test/no-such-model"],
        env(`http://127.0.0.1:${closedPort()}`),
      );
      check(r, "connection refused");
    });

    await t.step("a server that accepts and never answers (encode --model)", async () => {
      const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
      const held: Deno.Conn[] = [];
      const accepting = (async () => {
        try {
          for await (const c of listener) held.push(c);
        } catch { /* closed */ }
      })();
      try {
        const work = join(dir, "work");
        const video = await lavfiVideo(join(dir, "v.mp4"), "testsrc=s=160x120:r=10:d=1");
        await workWithVideos(work, [{ id: "clip", path: video }]);
        const port = (listener.addr as Deno.NetAddr).port;
        const r = await task(
          "encode",
          ["--work", work, "--model", "test/no-such-model", "--providers", "cpu", "--quiet"],
          env(`http://127.0.0.1:${port}`),
          60,
        );
        check(r, "no answer");
        assert(held.length >= 1, "the task never connected");
      } finally {
        listener.close();
        await accepting;
        for (const c of held) c.close();
      }
    });
  } finally {
    await cleanup();
  }
});

Deno.test("a hub that redirects in a loop is named as a redirect loop, with the URL", async () => {
  const { dir, cleanup } = await tempDir();
  const seen: string[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
    const url = new URL(req.url);
    seen.push(url.pathname);
    // every path sends the client back to where it came from, relative and absolute in turn
    const location = seen.length % 2 === 1 ? url.pathname : url.href;
    return new Response(null, { status: 302, headers: { location } });
  });
  try {
    const r = await task("model", ["fetch", "test/looping"], {
      HF_ENDPOINT: `http://127.0.0.1:${server.addr.port}`,
      HF_HUB_CACHE: join(dir, "hf", "hub"),
      KINEMBED_MODEL_CACHE: join(dir, "built"),
    });
    const line = oneLineRefusal(r);
    assert(line.includes("redirect loop"), line);
    assert(line.includes(`http://127.0.0.1:${server.addr.port}/test/looping/resolve/`), line);
    assert(!line.includes("lacks X-Repo-Commit"), line);
    assert(seen.length <= 20, `${seen.length} requests`);
  } finally {
    await server.shutdown();
    await cleanup();
  }
});

Deno.test("a device or a FIFO as the model is refused at once, naming it; a damaged checkpoint or ONNX file is named in one line", async (t) => {
  const { dir, cleanup } = await tempDir();
  try {
    const work = join(dir, "work");
    const video = await lavfiVideo(join(dir, "v.mp4"), "testsrc=s=160x120:r=10:d=1");
    await workWithVideos(work, [{ id: "clip", path: video }]);
    const fifo = join(dir, "model.onnx");
    const made = await new Deno.Command("mkfifo", { args: [fifo] }).output();
    assert(made.success, "mkfifo");
    const fifoFolder = join(dir, "ckpt");
    await Deno.mkdir(fifoFolder);
    await Deno.writeTextFile(join(fifoFolder, "config.json"), tinyConfig("quick_gelu"));
    assert(
      (await new Deno.Command("mkfifo", { args: [join(fifoFolder, "model.safetensors")] })
        .output()).success,
    );
    const damaged = join(dir, "damaged.safetensors");
    await Deno.writeFile(damaged, new Uint8Array(64).fill(0xff));
    // ONNX Runtime's reason for an empty file carries its source path and a C++ signature
    const empty = join(dir, "empty.onnx");
    await Deno.writeFile(empty, new Uint8Array());
    // starts like a ModelProto (ir_version 7), then a field cut short: only ONNX Runtime finds out
    const cut = join(dir, "cut.onnx");
    await Deno.writeFile(cut, Uint8Array.from([0x08, 0x07, 0x3a, 0x7f, 0x0a]));
    const env = { KINEMBED_MODEL_CACHE: join(dir, "built") };
    const encode = (model: string) =>
      task("encode", ["--work", work, "--model", model, "--providers", "cpu", "--quiet"], env, 60);
    const cases: [string, () => Promise<Run>, string][] = [
      ["encode --model /dev/zero", () => encode("/dev/zero"), "/dev/zero"],
      ["encode --model FIFO", () => encode(fifo), fifo],
      ["model info FIFO", () => task("model", ["info", fifo], env, 60), fifo],
      [
        "encode --model a folder whose weights are a FIFO",
        () => encode(fifoFolder),
        join(fifoFolder, "model.safetensors"),
      ],
      ["model info damaged.safetensors", () => task("model", ["info", damaged], env), damaged],
      [
        "encode --model an empty .onnx file",
        () => encode(empty),
        `--model ${empty}: not an ONNX model`,
      ],
      [
        "encode --model an .onnx file cut short",
        () => encode(cut),
        `${cut} is not a loadable ONNX`,
      ],
    ];
    for (const [what, run, named] of cases) {
      await t.step(what, async () => {
        const r = await run();
        const line = oneLineRefusal(r);
        assert(r.seconds < 30, `${r.seconds.toFixed(1)} s`);
        assert(line.includes(named), line);
      });
    }
  } finally {
    await cleanup();
  }
});
