import { join } from "node:path";
import { assertEquals, assertRejects } from "../../tests/support/assert.ts";
import { repoPath } from "../../tests/support/media.ts";
import { clipFilterChain, type Preset, PRESET_SPECS, PRESETS, presetSpec } from "./presets.ts";
import { clipGeometry, sourceFilterGraph } from "./ffmpeg.ts";

const ACCURATE = "bicubic+accurate_rnd+full_chroma_int:param0=0:param1=0.5";

Deno.test("presets: one object per preset, named as --preset spells it", async () => {
  assertEquals(Object.keys(PRESET_SPECS), [...PRESETS]);
  for (const name of PRESETS) {
    assertEquals(presetSpec(name).name, name);
    assertEquals(presetSpec(name).frameSize, 224);
    assertEquals(presetSpec(name).colour.rangeAndMatrix, "stream-tags");
  }
  await assertRejects(
    () => presetSpec("clip-2" as Preset),
    'unknown preset "clip-2": one of clip, clip-swscale, clip-video-encode-1.0',
  );
});

Deno.test("presets: each decodes with the filter chain it always had", () => {
  assertEquals(
    PRESET_SPECS["clip"].decodeFilters(2),
    `fps=fps=2:round=up,scale=flags=${ACCURATE},format=rgb24`,
  );
  assertEquals(PRESET_SPECS["clip-video-encode-1.0"].decodeFilters(1), "fps=fps=1:round=up");
  const swscale = PRESET_SPECS["clip-swscale"].decodeFilters(1);
  assertEquals(swscale, clipFilterChain(1, 224));
  assertEquals(
    swscale,
    "fps=fps=1:round=up," +
      "scale=w='if(lte(iw,ih),224,trunc(iw*224/ih))':h='if(lte(ih,iw),224,trunc(ih*224/iw))'" +
      `:flags=${ACCURATE},` +
      "crop=224:224:'if(mod(iw-224,2),2*round((iw-224)/4),(iw-224)/2)'" +
      ":'if(mod(ih-224,2),2*round((ih-224)/4),(ih-224)/2)'",
  );
  // frames at display size decode as the preset that resizes them afterwards
  assertEquals(sourceFilterGraph({ fps: 2 }), {
    filters: PRESET_SPECS["clip"].decodeFilters(2),
    pixFmt: "rgb24",
  });
  assertEquals(sourceFilterGraph({ pixFmt: "bgr24" }), {
    filters: "fps=fps=1:round=up",
    pixFmt: "bgr24",
  });
});

Deno.test("presets: resize, colour and crop rounding per preset", () => {
  const facts = PRESETS.map((n) => {
    const p = presetSpec(n);
    return [n, p.resize, p.colour.pixFmt, p.colour.swsFlags, p.cropOffset(2.5), p.cropOffset(1.5)];
  });
  assertEquals(facts, [
    ["clip", "pillow-bicubic", "rgb24", ACCURATE, 2, 2],
    ["clip-swscale", "swscale-bicubic", "rgb24", ACCURATE, 2, 2],
    ["clip-video-encode-1.0", "opencv-cubic", "bgr24", null, 2, 1],
  ]);
  // 227×224: an excess of 3, so the offset is 1.5: 2 half to even, 1 floored
  assertEquals(clipGeometry(227, 224, "clip").cropX, 2);
  assertEquals(clipGeometry(227, 224, "clip-swscale").cropX, 2);
  assertEquals(clipGeometry(227, 224, "clip-video-encode-1.0").cropX, 1);
});

Deno.test("presets: no module outside presets.ts compares a preset's name", async () => {
  const lib = repoPath("lib");
  const offenders: string[] = [];
  const walk = async (dir: string) => {
    for await (const e of Deno.readDir(dir)) {
      const path = join(dir, e.name);
      if (e.isDirectory) await walk(path);
      else if (e.name.endsWith(".ts") && !e.name.endsWith("_test.ts") && e.name !== "presets.ts") {
        const text = await Deno.readTextFile(path);
        if (/preset\w*\s*[!=]==|[!=]==\s*"clip-(swscale|video-encode-1\.0)"/i.test(text)) {
          offenders.push(path.slice(lib.length + 1));
        }
      }
    }
  };
  await walk(lib);
  assertEquals(offenders, []);
});
