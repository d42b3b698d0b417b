# A random-weight CLIP ViT-B/32 image tower (the shapes and FLOPs of openai/clip-vit-base-patch32's
# vision tower + projection, built with transformers, no download), exported to ONNX in float32 and
# float16 (input pixel_values float32 [N,3,224,224], output image_embeds float32 [N,512], dynamic
# batch; the float16 model casts inside), then PyTorch float16 eager timed on the same model: the
# baseline for ONNX Runtime's CUDA provider (bench/gpu/ort_session_bench.ts).
#
#   python3 bench/gpu/torch_clip.py OUTDIR [--batches 256,1024] [--skip-export]
#
# Two PyTorch timings per batch: "resident" (input already on the GPU; events around the forward)
# and "host" (input in host memory, copied in, embeddings copied out: what session.run does).
import argparse, copy, json, os, statistics, sys, time

import torch
from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection


def log(*a):
    print(f"[{time.strftime('%H:%M:%S')}] torch_clip:", *a, flush=True)


class Wrap(torch.nn.Module):
    """float32 pixel_values in, float32 image_embeds out, the model in `dt` between."""

    def __init__(self, m, dt):
        super().__init__()
        self.m, self.dt = m, dt

    def forward(self, pixel_values):
        return self.m(pixel_values=pixel_values.to(self.dt)).image_embeds.float()


def export(model, path, dev):
    try:
        export_once(model, path, dev)
    except Exception as e:  # the timings go on; call 2 then uses the fixture models alone
        log(f"FAILED to export {path}: {str(e)[:300]}")


def export_once(model, path, dev):
    model = model.to(dev).eval()
    x = torch.randn(2, 3, 224, 224, device=dev)
    names = dict(input_names=["pixel_values"], output_names=["image_embeds"])
    t0 = time.time()
    try:
        torch.onnx.export(model, (x,), path, dynamo=False, opset_version=18,
                          dynamic_axes={"pixel_values": {0: "batch"}, "image_embeds": {0: "batch"}},
                          **names)
        how = "torchscript exporter"
    except Exception as e:  # the legacy exporter is gone or failed: the dynamo exporter
        log(f"legacy export failed ({str(e)[:200]}); trying dynamo=True")
        batch = torch.export.Dim("batch", min=1, max=4096)
        torch.onnx.export(model, (x,), path, dynamo=True, external_data=False, opset_version=18,
                          dynamic_shapes={"pixel_values": {0: batch}}, **names)
        how = "dynamo exporter"
    log(f"wrote {path} ({os.path.getsize(path) / 1e6:.1f} MB, {how}, {time.time() - t0:.1f} s)")


def time_resident(model, batch, iters, dtype=torch.float32):
    x = torch.randn(batch, 3, 224, 224, device="cuda", dtype=dtype)
    with torch.inference_mode():
        for _ in range(3):
            model(x)
        torch.cuda.synchronize()
        ms = []
        for _ in range(iters):
            a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            a.record()
            model(x)
            b.record()
            b.synchronize()
            ms.append(a.elapsed_time(b))
    return statistics.median(ms)


def time_host(model, batch, iters):
    xs = [torch.randn(batch, 3, 224, 224) for _ in range(2)]  # pageable, as a JS buffer is
    with torch.inference_mode():
        for i in range(3):
            model(xs[i % 2].cuda()).cpu()
        torch.cuda.synchronize()
        ms = []
        for i in range(iters):
            t0 = time.perf_counter()
            y = model(xs[i % 2].cuda()).cpu()  # .cpu() waits for the GPU
            ms.append((time.perf_counter() - t0) * 1000)
    assert y.shape == (batch, 512) and torch.isfinite(y).all()
    return statistics.median(ms)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--batches", default="256,1024")
    ap.add_argument("--skip-export", action="store_true")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    batches = [int(b) for b in args.batches.split(",")]
    import transformers
    info = {"torch": torch.__version__, "transformers": transformers.__version__,
            "cuda": torch.version.cuda, "cudnn": torch.backends.cudnn.version(),
            "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None}
    log(json.dumps(info))
    cfg = CLIPVisionConfig(hidden_size=768, intermediate_size=3072, num_hidden_layers=12,
                           num_attention_heads=12, image_size=224, patch_size=32,
                           projection_dim=512, hidden_act="quick_gelu")
    torch.manual_seed(0)
    base = CLIPVisionModelWithProjection(cfg).eval()
    info["parameters"] = sum(p.numel() for p in base.parameters())
    info["attn_implementation"] = getattr(base.config, "_attn_implementation", None)
    fp32_path = os.path.join(args.out, "clip_fp32.onnx")
    fp16_path = os.path.join(args.out, "clip_fp16.onnx")
    if not args.skip_export:
        export(Wrap(base, torch.float32), fp32_path, "cpu")
    if not torch.cuda.is_available():
        log("SKIP: no CUDA GPU for PyTorch here; the float16 export and the timings need one")
        json.dump({"info": info, "results": []}, open(os.path.join(args.out, "torch_results.json"), "w"))
        return 0
    m16 = Wrap(copy.deepcopy(base).half().cuda(), torch.float16).eval()
    if not args.skip_export:
        export(m16, fp16_path, "cuda")
    results = []
    for b in batches:
        iters = 30 if b <= 256 else 10
        r = time_resident(m16, b, iters)
        h = time_host(m16, b, iters)
        for kind, ms in (("fp16 eager, input on the GPU", r), ("fp16 eager, host in/out", h)):
            results.append({"what": f"PyTorch {kind}", "batch": b, "ms": ms, "img_s": b * 1000 / ms})
            log(f"PyTorch {kind:30s} batch {b:5d}: {ms:8.2f} ms/batch  {b * 1000 / ms:9.0f} img/s")
    m32 = Wrap(copy.deepcopy(base).cuda(), torch.float32).eval()
    for b in batches:
        ms = time_resident(m32, b, 10)
        results.append({"what": "PyTorch fp32 eager, input on the GPU", "batch": b, "ms": ms,
                        "img_s": b * 1000 / ms})
        log(f"PyTorch {'fp32 eager, input on the GPU':30s} batch {b:5d}: {ms:8.2f} ms/batch  "
            f"{b * 1000 / ms:9.0f} img/s")
    # a float64 CPU reference for the ONNX models' numerics check (bench/gpu/ort_session_bench.ts)
    torch.manual_seed(1)
    x = torch.randn(4, 3, 224, 224)
    with torch.inference_mode():
        ref = copy.deepcopy(base).double()(pixel_values=x.double()).image_embeds
        rel = {}
        for name, m in (("fp16", m16), ("fp32", m32)):
            y = m(x.cuda()).double().cpu()
            rel[name] = float((y - ref).norm() / ref.norm())
    info["pytorch_rel_err_vs_float64"] = rel
    log(f"PyTorch on the GPU vs float64 on the CPU, 4 images: relative error {rel}")
    x.numpy().astype("float32").tofile(os.path.join(args.out, "check_input_4x3x224x224.f32"))
    ref.numpy().astype("float32").tofile(os.path.join(args.out, "check_ref_4x512.f32"))
    json.dump({"info": info, "results": results},
              open(os.path.join(args.out, "torch_results.json"), "w"), indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
