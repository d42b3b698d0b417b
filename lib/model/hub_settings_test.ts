import { assertEquals } from "../../tests/support/assert.ts";
import { join } from "node:path";
import {
  builtModelCacheDir,
  DEFAULT_HUB_ENDPOINT,
  HUB_ENV_VARS,
  hubSettingsFromEnv,
} from "./hub_settings.ts";

/** An environment holding only the given variables, recording each name read. */
function envOf(vars: Record<string, string>, read: Set<string> = new Set()) {
  return (name: string) => {
    read.add(name);
    return vars[name];
  };
}

Deno.test("hubSettingsFromEnv with only HOME gives huggingface_hub's defaults", async () => {
  const home = await Deno.makeTempDir();
  try {
    assertEquals(hubSettingsFromEnv(envOf({ HOME: home })), {
      endpoint: DEFAULT_HUB_ENDPOINT,
      token: null,
      cacheDir: join(home, ".cache", "huggingface", "hub"),
      offline: false,
    });
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("hubSettingsFromEnv follows HF_ENDPOINT, HF_HUB_CACHE before HF_HOME, HF_TOKEN, HF_HUB_OFFLINE", () => {
  const s = hubSettingsFromEnv(envOf({
    HOME: "/home/u",
    HF_HOME: "/data/hf",
    HF_HUB_CACHE: "/fast/hub",
    HF_ENDPOINT: "http://127.0.0.1:8080//",
    HF_TOKEN: "hf_abc",
    HF_HUB_OFFLINE: "TRUE",
  }));
  assertEquals(s, {
    endpoint: "http://127.0.0.1:8080",
    token: "hf_abc",
    cacheDir: "/fast/hub",
    offline: true,
  });
  assertEquals(hubSettingsFromEnv(envOf({ HF_HOME: "/data/hf" })).cacheDir, "/data/hf/hub");
  assertEquals(hubSettingsFromEnv(envOf({ XDG_CACHE_HOME: "/x" })).cacheDir, "/x/huggingface/hub");
  assertEquals(hubSettingsFromEnv(envOf({ HUGGINGFACE_HUB_CACHE: "/old" })).cacheDir, "/old");
  assertEquals(hubSettingsFromEnv(envOf({ HUGGING_FACE_HUB_TOKEN: "hf_old" })).token, "hf_old");
  for (const off of ["0", "false", "", "off"]) {
    assertEquals(hubSettingsFromEnv(envOf({ HF_HUB_OFFLINE: off })).offline, false, off);
  }
});

Deno.test("hubSettingsFromEnv reads the token file under HF_HOME or at HF_TOKEN_PATH", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(join(dir, "token"), "hf_from_file\n");
    assertEquals(hubSettingsFromEnv(envOf({ HF_HOME: dir })).token, "hf_from_file");
    await Deno.writeTextFile(join(dir, "other"), "hf_other");
    assertEquals(
      hubSettingsFromEnv(envOf({ HF_HOME: dir, HF_TOKEN_PATH: join(dir, "other") })).token,
      "hf_other",
    );
    // The variable wins over the file; a blank file is no token.
    assertEquals(hubSettingsFromEnv(envOf({ HF_HOME: dir, HF_TOKEN: "hf_env" })).token, "hf_env");
    await Deno.writeTextFile(join(dir, "token"), "  \n");
    assertEquals(hubSettingsFromEnv(envOf({ HF_HOME: dir })).token, null);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("builtModelCacheDir prefers KINEMBED_MODEL_CACHE, then XDG_CACHE_HOME, then HOME", () => {
  assertEquals(builtModelCacheDir(envOf({ KINEMBED_MODEL_CACHE: "/m", HOME: "/h" })), "/m");
  assertEquals(
    builtModelCacheDir(envOf({ XDG_CACHE_HOME: "/x", HOME: "/h" })),
    "/x/kinembed/models",
  );
  assertEquals(builtModelCacheDir(envOf({ HOME: "/h" })), "/h/.cache/kinembed/models");
});

Deno.test("HUB_ENV_VARS lists every variable the settings read", () => {
  const read = new Set<string>();
  hubSettingsFromEnv(envOf({}, read));
  builtModelCacheDir(envOf({}, read));
  for (const name of read) assertEquals(HUB_ENV_VARS.includes(name), true, name);
});
