/**
 * Opens ONNX Runtime sessions, for the image encoder and the evaluation graphs (the probe's loss
 * graph, the text encoder) alike: execution providers are tried in order and the first that loads
 * is kept; a provider whose library did not load is not tried again in this process.
 * @module
 */
import type * as ort from "onnxruntime-node";
import { loadOrt, ortRuntime, type OrtSession } from "./ort.ts";
import { ConfigError, oneLine } from "../base/mod.ts";
import type { ProviderName } from "./providers.ts";

/**
 * Providers whose library did not load in this process, with the reason: not tried again, so a
 * run that opens several sessions reports (and ONNX Runtime logs) a missing provider once.
 */
const unavailable = new Map<ProviderName, string>();

/** Options of {@linkcode openSession}. */
export interface OpenSessionOptions {
  /** Providers to try in order (default `cuda`, `cpu`). */
  providers?: readonly ProviderName[];
  /** Intra-op threads for the CPU provider (default: ONNX Runtime's choice, one per core). */
  threads?: number;
  /** Inter-op threads (default: ONNX Runtime's choice; a sequential graph uses one). */
  interOpThreads?: number;
  /** Called once per provider that did not load, with the reason. */
  onFallback?: (provider: ProviderName, reason: string) => void;
  /** Where the model came from, for messages. */
  source?: string;
}

/** An open session and the provider it runs on. */
export interface OpenedSession {
  /** The session. */
  session: OrtSession;
  /** The provider that loaded. */
  provider: ProviderName;
}

/**
 * Creates a session, trying the providers in order.
 * @param model an `.onnx` path or the model's bytes
 * @param opts providers, threads, fallback callback
 * @returns the session and its provider
 * @throws {ConfigError} when the model does not load or no provider opens it
 */
export async function openSession(
  model: string | Uint8Array,
  opts: OpenSessionOptions = {},
): Promise<OpenedSession> {
  // ONNX Runtime logs a failed provider load at error level itself; the fallback line says it once
  (await loadOrt()).env.logLevel = "fatal";
  const providers = opts.providers ?? ["cuda", "cpu"];
  const where = opts.source ?? (typeof model === "string" ? model : "the model");
  const reasons: string[] = [];
  for (const p of providers) {
    const known = unavailable.get(p);
    if (known !== undefined) {
      reasons.push(`${p}: ${known}`);
      continue;
    }
    try {
      const options = sessionOptions(p, opts.threads, opts.interOpThreads);
      const session = typeof model === "string"
        ? await ortRuntime().InferenceSession.create(model, options)
        : await ortRuntime().InferenceSession.create(model, options);
      return { session, provider: p };
    } catch (e) {
      const reason = oneLine(e);
      if (
        /protobuf|parse|invalid model|load model|ModelProto|No such file|not exist/i.test(reason)
      ) {
        throw new ConfigError(`${where} is not a loadable ONNX model: ${withoutSourceRef(reason)}`);
      }
      reasons.push(`${p}: ${reason}`);
      if (/shared library|load library|not (?:available|supported|enabled)/i.test(reason)) {
        unavailable.set(p, reason);
      }
      opts.onFallback?.(p, fallbackReason(p, reason));
    }
  }
  throw new ConfigError(`no execution provider could open ${where}: ${reasons.join("; ")}`);
}

/**
 * ONNX Runtime's reason without the source file and C++ signature it prefixes some with
 * (`/onnxruntime_src/…/model.cc:177 onnxruntime::Model::Model(…) ModelProto does not have a graph.`),
 * which would push the message past a readable line.
 */
function withoutSourceRef(reason: string): string {
  return reason.replace(/\/onnxruntime_src\/\S+:\d+ (?:[\w:~<>]+\(.*\) )?/, "").slice(0, 200);
}

/** ONNX Runtime's words, and for a CUDA library that did not load, what to do about it. */
function fallbackReason(p: ProviderName, reason: string): string {
  return p === "cuda" && /shared library/i.test(reason)
    ? `${reason}: the CUDA provider libraries or the CUDA 13 libraries they need did not load (./kinembed gpu-setup installs and checks them)`
    : reason;
}

function sessionOptions(
  p: ProviderName,
  threads?: number,
  interOpThreads?: number,
): ort.InferenceSession.SessionOptions {
  const ep = p === "cuda"
    ? { name: "cuda", deviceId: 0 }
    : p === "webgpu"
    ? { name: "webgpu" }
    : "cpu";
  return {
    executionProviders: [ep as ort.InferenceSession.ExecutionProviderConfig],
    graphOptimizationLevel: "all",
    logSeverityLevel: 3,
    ...(threads ? { intraOpNumThreads: threads } : {}),
    ...(interOpThreads ? { interOpNumThreads: interOpThreads } : {}),
  };
}
