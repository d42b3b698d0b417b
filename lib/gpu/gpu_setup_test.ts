import { join } from "node:path";
import { ensureFixtureModels } from "../../fixtures/make_models.ts";
import { readElfDynamicNames } from "./elf_needed.ts";
import { ConfigError, FormatError } from "../base/mod.ts";
import { Manifest } from "../core/mod.ts";
import {
  CUDA_LIBRARIES,
  detectGpu,
  DRIVER_LIBRARY,
  exportDirsFor,
  installProviderLibraries,
  ldLibraryPathLine,
  type LibrarySearchPaths,
  locateLibraries,
  nvidiaPackageDirs,
  nvidiaWheelLibDirs,
  onnxruntimeLibraryDir,
  parseLdconfig,
  PROVIDER_LIBRARIES,
  PROVIDER_PACKAGE,
  PROVIDER_PACKAGE_DIR,
  PROVIDER_PACKAGE_VERSION,
} from "./gpu_setup.ts";
import { sample } from "../video/mod.ts";
import { assert, assertEquals, assertRejects } from "../../tests/support/assert.ts";
import { lavfiVideo, repoPath, tempDir, workWithVideos } from "../../tests/support/media.ts";

const REPO = repoPath();
const MODELS = repoPath("fixtures", "models");

/** Writes a fake library file (its bytes are the name, repeated) and returns its path. */
async function fakeLib(dir: string, name: string, repeat = 3): Promise<string> {
  await Deno.mkdir(dir, { recursive: true });
  const path = join(dir, name);
  await Deno.writeTextFile(path, name.repeat(repeat));
  return path;
}

/** A venv laid out as pip's CUDA 13 wheels lay it out. */
async function fakeVenv(root: string, opts: { curand?: boolean } = {}): Promise<string> {
  const nv = join(root, "lib", "python3.12", "site-packages", "nvidia");
  for (const n of ["libcudart.so.13", "libcublas.so.13", "libcublasLt.so.13"]) {
    await fakeLib(join(nv, "cu13", "lib"), n);
  }
  if (opts.curand ?? true) await fakeLib(join(nv, "curand", "lib"), "libcurand.so.10");
  await fakeLib(join(nv, "cudnn", "lib"), "libcudnn.so.9");
  await Deno.mkdir(join(nv, "cu13", "include"), { recursive: true });
  return root;
}

function emptyPaths(over: Partial<LibrarySearchPaths> = {}): LibrarySearchPaths {
  return { ldLibraryPath: [], ldconfig: new Map(), systemDirs: [], candidates: [], ...over };
}

async function run(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", ...args],
    cwd: REPO,
    env: { ...Deno.env.toObject(), ...env },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

Deno.test("gpu-setup search: venv wheels found off the loader path give the export line; LD_LIBRARY_PATH and ldconfig win", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const venv = await fakeVenv(join(dir, "venv"));
    const nv = join(venv, "lib", "python3.12", "site-packages", "nvidia");
    assertEquals(await nvidiaPackageDirs(venv), [nv]);
    assertEquals(await nvidiaPackageDirs(join(nv, "..")), [nv]);
    assertEquals(await nvidiaPackageDirs(nv), [nv]);
    assertEquals(await nvidiaWheelLibDirs(nv), [
      join(nv, "cu13", "lib"),
      join(nv, "cudnn", "lib"),
      join(nv, "curand", "lib"),
    ]);
    const candidates = (await nvidiaWheelLibDirs(nv)).map((d) => ({ dir: d, origin: "venv" }));
    // the driver library through the loader cache; cudart also through LD_LIBRARY_PATH
    const driver = await fakeLib(join(dir, "driver"), "libcuda.so.1");
    const ldDir = join(dir, "ld");
    const cudart = await fakeLib(ldDir, "libcudart.so.13");
    const ldconfig = parseLdconfig(
      `3 libs found in cache \`/etc/ld.so.cache'\n` +
        `\tlibcuda.so.1 (libc6) => /nonexistent/32bit/libcuda.so.1\n` +
        `\tlibcuda.so.1 (libc6,x86-64) => ${driver}\n` +
        `\tlibcublas.so.13 (libc6,x86-64) => /nonexistent/libcublas.so.13\n`,
    );
    assertEquals(ldconfig.get("libcuda.so.1"), driver);
    const specs = [...CUDA_LIBRARIES, DRIVER_LIBRARY];
    const locs = await locateLibraries(
      specs,
      emptyPaths({ ldLibraryPath: [ldDir], ldconfig, candidates }),
    );
    const by = Object.fromEntries(locs.map((l) => [l.spec.soname, l]));
    assertEquals([by["libcudart.so.13"].path, by["libcudart.so.13"].via], [
      cudart,
      "LD_LIBRARY_PATH",
    ]);
    assertEquals([by["libcuda.so.1"].path, by["libcuda.so.1"].via], [driver, "ldconfig"]);
    // a cache entry whose file is gone does not count: cuBLAS comes from the venv
    assertEquals(by["libcublas.so.13"].path, join(nv, "cu13", "lib", "libcublas.so.13"));
    assertEquals(by["libcublas.so.13"].via, "not on the loader path");
    assertEquals(by["libcurand.so.10"].path, join(nv, "curand", "lib", "libcurand.so.10"));
    assertEquals(by["libcudnn.so.9"].path, join(nv, "cudnn", "lib", "libcudnn.so.9"));
    const dirs = exportDirsFor(locs);
    assertEquals(dirs, [
      join(nv, "cu13", "lib"),
      join(nv, "curand", "lib"),
      join(nv, "cudnn", "lib"),
    ]);
    assertEquals(
      ldLibraryPathLine(dirs),
      `export LD_LIBRARY_PATH="${dirs.join(":")}\${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"`,
    );
    // the line works in a shell: the folders come first, the old value is kept
    const sh = await new Deno.Command("bash", {
      args: ["-c", `${ldLibraryPathLine(dirs)}; printf %s "$LD_LIBRARY_PATH"`],
      env: { LD_LIBRARY_PATH: "/old" },
      stdout: "piped",
    }).output();
    assertEquals(new TextDecoder().decode(sh.stdout), `${dirs.join(":")}:/old`);
    // nothing off the loader path: no folders to add
    assertEquals(exportDirsFor(locs.filter((l) => l.via !== "not on the loader path")), []);
  } finally {
    await cleanup();
  }
});

Deno.test("gpu-setup search: a missing library is reported with where to get it", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const venv = await fakeVenv(join(dir, "venv"), { curand: false });
    const nv = (await nvidiaPackageDirs(venv))[0];
    const candidates = (await nvidiaWheelLibDirs(nv)).map((d) => ({ dir: d, origin: "venv" }));
    // a near miss with another major version is not the library the provider asks for
    await fakeLib(join(nv, "cu13", "lib"), "libcurand.so.11");
    const locs = await locateLibraries(CUDA_LIBRARIES, emptyPaths({ candidates }));
    const missing = locs.filter((l) => !l.path).map((l) => l.spec);
    assertEquals(missing.map((s) => s.soname), ["libcurand.so.10"]);
    assert(missing[0].source.includes("nvidia-curand"), missing[0].source);
    assertEquals(missing[0].optional, false);
    const none = await locateLibraries(CUDA_LIBRARIES, emptyPaths());
    assertEquals(none.filter((l) => !l.path).length, CUDA_LIBRARIES.length);
  } finally {
    await cleanup();
  }
});

Deno.test("gpu-setup: --check lists found and missing libraries and changes nothing; without a GPU it says so and exits 0, with one it says not ready and exits 1", async () => {
  // both branches run on every machine: this machine as it is, and one with a fake nvidia-smi on
  // PATH (a GPU branch); where a real GPU is, the first is a GPU branch too
  const { dir, cleanup } = await tempDir();
  try {
    const fakeBin = join(dir, "bin");
    await Deno.mkdir(fakeBin);
    await Deno.writeTextFile(
      join(fakeBin, "nvidia-smi"),
      "#!/bin/sh\necho 'Fake GPU, 580.00, 1024 MiB'\n",
      { mode: 0o755 },
    );
    const settings = [
      { env: {} as Record<string, string>, gpu: await detectGpu() },
      {
        env: { PATH: `${fakeBin}:${Deno.env.get("PATH") ?? ""}` },
        gpu: { present: true, description: "Fake GPU, 580.00, 1024 MiB" },
      },
    ];
    for (const [i, { env, gpu }] of settings.entries()) {
      const ortDir = join(dir, `ort${i}`);
      await Deno.mkdir(ortDir);
      const venv = await fakeVenv(join(dir, `venv${i}`));
      const nv = (await nvidiaPackageDirs(venv))[0];
      const r = await run(
        ["tasks/gpu_setup.ts", "--check", "--ort-dir", ortDir, "--venv", venv],
        { ...env, LD_LIBRARY_PATH: "" },
      );
      const lines = r.stdout.split("\n");
      assert(lines.some((l) => l.endsWith(`GPU: ${gpu.description}`)), r.stdout);
      assert(
        lines.some((l) => l.includes("provider libraries missing") && l.includes("gpu-setup")),
        r.stdout,
      );
      for (const s of CUDA_LIBRARIES) {
        const line = lines.find((l) => l.includes(` ${s.soname} `)) ?? "";
        // found in the venv, or wherever this machine has it
        assert(line.includes("found"), `${s.soname}: ${line}`);
      }
      const exp = lines.find((l) => l.includes("export LD_LIBRARY_PATH=")) ?? "";
      assert(exp.includes(`"${join(nv, "cu13", "lib")}`), exp);
      if (gpu.present) {
        assertEquals(r.code, 1, r.stdout + r.stderr);
        const notReady = lines.find((l) => l.includes("not ready: missing ")) ?? "";
        for (const p of PROVIDER_LIBRARIES) assert(notReady.includes(p), r.stdout);
      } else {
        assertEquals(r.code, 0, r.stdout + r.stderr);
        assert(
          lines.some((l) =>
            l.includes("no GPU: encode uses the CPU") && l.includes("nothing was changed")
          ),
          r.stdout,
        );
      }
      assertEquals([...Deno.readDirSync(ortDir)], []);
    }
  } finally {
    await cleanup();
  }
});

Deno.test("gpu-setup install: from a folder, a packed package, or npm pack into a cache; sizes checked, reruns keep identical files", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    // the package as npm packs it: package/Plugins/Linux/x64/<libs> plus files that are not taken
    const pkg = join(dir, "src");
    const libDir = join(pkg, PROVIDER_PACKAGE_DIR);
    await fakeLib(libDir, PROVIDER_LIBRARIES[0], 10);
    await fakeLib(libDir, PROVIDER_LIBRARIES[1], 5000);
    await fakeLib(libDir, "libonnxruntime_providers_tensorrt.so");
    await fakeLib(join(pkg, "package"), "README.md");
    const tgz = join(dir, `${PROVIDER_PACKAGE}-${PROVIDER_PACKAGE_VERSION}.tgz`);
    const tar = await new Deno.Command("tar", { args: ["czf", tgz, "-C", pkg, "package"] })
      .output();
    assert(tar.success);
    const expectSizes = async (ortDir: string) => {
      const names = [...Deno.readDirSync(ortDir)].map((e) => e.name).sort();
      assertEquals(names, [...PROVIDER_LIBRARIES].sort(), "only the two libraries, no temp files");
      for (const n of PROVIDER_LIBRARIES) {
        assertEquals(
          await Deno.readFile(join(ortDir, n)),
          await Deno.readFile(join(libDir, n)),
          n,
        );
      }
    };
    const lines: string[] = [];
    const a = join(dir, "ort-a");
    await Deno.mkdir(a);
    const fromTgz = await installProviderLibraries({
      ortDir: a,
      from: tgz,
      log: (l) => lines.push(l),
    });
    assertEquals(fromTgz.libraries.map((l) => [l.name, l.bytes, l.reused]), [
      [PROVIDER_LIBRARIES[0], PROVIDER_LIBRARIES[0].length * 10, false],
      [PROVIDER_LIBRARIES[1], PROVIDER_LIBRARIES[1].length * 5000, false],
    ]);
    await expectSizes(a);
    const again = await installProviderLibraries({ ortDir: a, from: join(pkg, "package") });
    assertEquals(again.libraries.map((l) => l.reused), [true, true]);
    await expectSizes(a);
    // a changed file of the same size is replaced
    const cuda = join(a, PROVIDER_LIBRARIES[1]);
    const bytes = await Deno.readFile(cuda);
    bytes[0] ^= 1;
    await Deno.writeFile(cuda, bytes);
    const fixed = await installProviderLibraries({ ortDir: a, from: libDir });
    assertEquals(fixed.libraries.map((l) => l.reused), [true, false]);
    await expectSizes(a);

    // no --from: npm pack into the cache (a stand-in npm that copies the package), then reused
    const bin = join(dir, "bin");
    await Deno.mkdir(bin);
    const npm = join(bin, "npm");
    const calls = join(dir, "npm-calls");
    await Deno.writeTextFile(
      npm,
      `#!/bin/sh\necho "$@" >> '${calls}'\n` +
        `while [ $# -gt 0 ]; do [ "$1" = --pack-destination ] && cp '${tgz}' "$2/"; shift; done\n`,
    );
    await Deno.chmod(npm, 0o755);
    const b = join(dir, "ort-b");
    await Deno.mkdir(b);
    const cache = join(dir, "cache");
    const viaNpm = await installProviderLibraries({ ortDir: b, cacheDir: cache, npm });
    assertEquals(viaNpm.source, join(cache, `${PROVIDER_PACKAGE}-${PROVIDER_PACKAGE_VERSION}.tgz`));
    await expectSizes(b);
    await installProviderLibraries({ ortDir: b, cacheDir: cache, npm });
    const called = (await Deno.readTextFile(calls)).trim().split("\n");
    assertEquals(called.length, 1, "the cached package is used the second time");
    assert(called[0].includes(`pack --silent ${PROVIDER_PACKAGE}@${PROVIDER_PACKAGE_VERSION}`));

    // a package without the CUDA library, a failing npm, a missing source: clear errors
    await Deno.remove(join(libDir, PROVIDER_LIBRARIES[1]));
    const bad = join(dir, "bad.tgz");
    await new Deno.Command("tar", { args: ["czf", bad, "-C", pkg, "package"] }).output();
    const c = join(dir, "ort-c");
    await Deno.mkdir(c);
    const e1 = await assertRejects(
      () => installProviderLibraries({ ortDir: c, from: bad }),
      `lacks ${PROVIDER_PACKAGE_DIR}/${PROVIDER_LIBRARIES[1]}`,
    );
    assert(e1 instanceof ConfigError);
    assertEquals([...Deno.readDirSync(c)], [], "nothing half-installed");
    await assertRejects(() => installProviderLibraries({ ortDir: c, from: libDir }), "found no");
    await assertRejects(
      () => installProviderLibraries({ ortDir: c, from: join(dir, "nope.tgz") }),
      "no such file",
    );
    await assertRejects(
      () => installProviderLibraries({ ortDir: c, cacheDir: join(dir, "c2"), npm: "/bin/false" }),
      "--from FILE.tgz",
    );
  } finally {
    await cleanup();
  }
});

Deno.test("gpu-setup: the ELF reader lists NEEDED entries as readelf does, and refuses a non-ELF file", async () => {
  const { dir: ortDir } = await onnxruntimeLibraryDir();
  const lib = join(ortDir, "libonnxruntime.so.1");
  const { needed, soname } = await readElfDynamicNames(lib);
  assertEquals(soname, "libonnxruntime.so.1");
  assert(needed.includes("libc.so.6"), String(needed));
  // readelf (Debian's binutils) is the independent reference; ./kinembed test installs it
  const readelf = await new Deno.Command("readelf", { args: ["-d", lib], stdout: "piped" })
    .output().catch((e) => {
      throw new Error(`readelf is needed as the reference (apt-get install binutils): ${e}`);
    });
  assert(readelf.success, "readelf -d failed");
  const want = [...new TextDecoder().decode(readelf.stdout).matchAll(/\(NEEDED\).*\[(.+)\]/g)]
    .map((m) => m[1]);
  assert(want.length > 0, "readelf listed no NEEDED entries");
  assertEquals(needed, want);
  const { dir, cleanup } = await tempDir();
  try {
    const fake = await fakeLib(dir, "libcudart.so.13", 10);
    await assertRejects(() => readElfDynamicNames(fake), "not an ELF file");
    const e = await assertRejects(() => readElfDynamicNames(join(dir, "empty")));
    assert(e instanceof Deno.errors.NotFound, String(e));
    await Deno.writeFile(join(dir, "short"), new Uint8Array([0x7f, 0x45]));
    assert(
      (await assertRejects(() => readElfDynamicNames(join(dir, "short")))) instanceof FormatError,
    );
  } finally {
    await cleanup();
  }
});

Deno.test("encode --providers cuda,cpu and webgpu,cpu: one fallback line each, the run finishes on cpu", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const { vision } = await ensureFixtureModels(MODELS, "tiny");
    const clip = await lavfiVideo(join(dir, "clip.mp4"), "testsrc2=s=320x240:r=25:d=2.5");
    for (const first of ["cuda", "webgpu"]) {
      const work = join(dir, `work-${first}`);
      await workWithVideos(work, [{ id: "clip", path: clip }]);
      await sample({ work, quiet: true });
      const r = await run([
        "tasks/encode.ts",
        "--work",
        work,
        "--model",
        vision,
        "--providers",
        `${first},cpu`,
        "--batch",
        "2",
        "--quiet",
      ]);
      assertEquals(r.code, 0, r.stderr);
      // ONNX Runtime's WebGPU layer (Dawn) may print its own diagnostics; ours is one line
      const ours = r.stderr.split("\n").filter((l) => l.startsWith("encode: "));
      assertEquals(ours.length, 1, r.stderr);
      assert(
        ours[0].startsWith(`encode: the ${first} provider is unavailable (`) &&
          ours[0].endsWith("; trying the next"),
        ours[0],
      );
      if (first === "cuda") assert(ours[0].includes("gpu-setup"), ours[0]);
      assert(
        r.stdout.includes("encode: 1 videos, 3 frames") && r.stdout.includes(" on cpu "),
        r.stdout,
      );
      const m = Manifest.open(join(work, "manifest.db"));
      assertEquals(m.config().provider, "cpu");
      assertEquals(m.steps.counts("encode").done, 1);
      m.close();
    }
  } finally {
    await cleanup();
  }
});
