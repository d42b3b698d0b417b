import { CLIP_MEAN, CLIP_SIZE, CLIP_STD } from "./clip_preprocessing.ts";
import { assert, assertEquals } from "../../tests/support/assert.ts";

// OpenAI CLIP's clip/clip.py `_transform`: Resize(n_px), CenterCrop(n_px), Normalize(mean, std), with
// n_px = 224 for ViT-B/32 and ViT-B/16.
Deno.test("clip_preprocessing: the constants are OpenAI CLIP's published size, mean and std", () => {
  assertEquals(CLIP_SIZE, 224);
  assertEquals([...CLIP_MEAN], [0.48145466, 0.4578275, 0.40821073]);
  assertEquals([...CLIP_STD], [0.26862954, 0.26130258, 0.27577711]);
});

Deno.test("clip_preprocessing: a [0,1] pixel normalises into a bounded range on every channel", () => {
  for (let c = 0; c < 3; c++) {
    assert(CLIP_MEAN[c] > 0 && CLIP_MEAN[c] < 1, `mean ${c}`);
    assert(CLIP_STD[c] > 0 && CLIP_STD[c] < 1, `std ${c}`);
    const lo = (0 - CLIP_MEAN[c]) / CLIP_STD[c];
    const hi = (1 - CLIP_MEAN[c]) / CLIP_STD[c];
    assert(lo > -2 && lo < -1.4 && hi > 1.9 && hi < 2.2, `channel ${c}: [${lo}, ${hi}]`);
  }
});
