/** `kinembed gpu-setup`: install ONNX Runtime's CUDA provider libraries and check CUDA 13. */
import { runTask, stringFlag } from "../lib/cli/mod.ts";
import { ONNXRUNTIME_VERSION } from "../lib/onnx/mod.ts";
import {
  formatGpuSetupReport,
  gpuSetup,
  PROVIDER_PACKAGE,
  PROVIDER_PACKAGE_VERSION,
} from "../lib/gpu/mod.ts";

await runTask({
  name: "gpu-setup",
  summary: `Install the CUDA execution provider libraries (npm ${PROVIDER_PACKAGE}@` +
    `${PROVIDER_PACKAGE_VERSION}: ONNX Runtime ${ONNXRUNTIME_VERSION}, CUDA 13) next to onnxruntime-node's ` +
    "library, then check that the CUDA 13 libraries they need can be found (loader paths, " +
    "LD_LIBRARY_PATH, CUDA toolkits, Python venvs' nvidia/*/lib) and print what is missing. " +
    "Exit 0 when ready or when there is no GPU here, 1 when a GPU is here but something is missing.",
  flags: {
    check: { type: "boolean", help: "only report; install nothing" },
    from: {
      type: "string",
      arg: "FILE|DIR",
      help: "the packed package (.tgz), its unpacked folder, or a folder holding the two " +
        "libraries (for machines without the npm registry)",
    },
    cache: {
      type: "string",
      arg: "DIR",
      help:
        "where npm pack puts the package (default $XDG_CACHE_HOME/kinembed or ~/.cache/kinembed)",
    },
    "ort-dir": {
      type: "string",
      arg: "DIR",
      help:
        "onnxruntime-node's library folder (default: node_modules/onnxruntime-node/bin/napi-v6/linux/x64)",
    },
    venv: {
      type: "string",
      multiple: true,
      arg: "DIR",
      help: "also search this Python environment's nvidia/*/lib (venv root or site-packages)",
    },
    "no-probe": { type: "boolean", help: "do not try the CUDA provider on a tiny model" },
  },
}, async (v) => {
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
