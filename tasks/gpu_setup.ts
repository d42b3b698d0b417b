/** `kinembed gpu-setup`: install ONNX Runtime's CUDA provider libraries and check CUDA 13. */
import { GPU_SETUP_TASK, runTask, stringFlag } from "../lib/cli/mod.ts";
import { formatGpuSetupReport, gpuSetup } from "../lib/gpu/mod.ts";

await runTask(GPU_SETUP_TASK, async (v) => {
  const r = await gpuSetup({
    check: v.check === true,
    from: stringFlag(v, "from"),
    cacheDir: stringFlag(v, "cache"),
    ortDir: stringFlag(v, "ort-dir"),
    venvs: (v.venv as string[] | undefined) ?? [],
    probe: v["no-probe"] !== true,
    log: (line) => console.log(`gpu-setup: ${line}`),
  });
  for (const line of formatGpuSetupReport(r)) console.log(`gpu-setup: ${line}`);
  return { code: r.exitCode, summary: { report: r } };
});
