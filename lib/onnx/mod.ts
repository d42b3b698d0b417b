/**
 * Everything that knows ONNX: the graph builder, the CLIP-shaped model builder (random weights
 * for tests and benchmarks, or a real checkpoint's: safetensors files and their mapping onto it),
 * the execution providers, ONNX Runtime loaded on first use, one
 * session opener for every graph, and the CLIP image encoder. Importing this module loads
 * neither ONNX Runtime nor the protobuf code; building or opening a model does.
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { buildVisionModel, ImageEncoder } from "./mod.ts";
 *
 * const { bytes } = await buildVisionModel({ size: "tiny" });
 * const enc = await ImageEncoder.open(bytes, { providers: ["cpu"] });
 * const emb = await enc.encode(new Float32Array(2 * 3 * 224 * 224), 2);
 * strictEqual(emb.length, 2 * enc.embedDim);
 * await enc.release();
 * ```
 * @module
 */
export {
  attr,
  type AttributeValue,
  type Dim,
  type ModelSummary,
  type NodeOptions,
  ONNX_ATTRIBUTE_TYPE,
  ONNX_DATA_TYPE,
  OnnxGraph,
  type OnnxGraphOptions,
  readModel,
  readModelMetadata,
  type TensorData,
  type TensorDataType,
  type TensorValue,
  type ValueDataType,
} from "./onnx_graph.ts";
export {
  buildTextModel,
  buildVisionModel,
  type BuiltModel,
  type CheckpointWeights,
  MODEL_BUILDER_VERSION,
  MODEL_SIZES,
  type ModelDtype,
  type ModelSize,
  TEXT_CONFIGS,
  type TextConfig,
  type TextModelOptions,
  textParameterCount,
  VISION_CONFIGS,
  type VisionConfig,
  type VisionInputFormat,
  type VisionModelOptions,
  visionParameterCount,
} from "./clip_model_builder.ts";
export {
  encodeSafetensors,
  type SafetensorsEntry,
  SafetensorsFile,
  type SafetensorsFloatDtype,
  type SafetensorsTensor,
} from "./safetensors.ts";
export {
  checkCheckpointTensors,
  CHECKPOINT_FILES,
  type CheckpointLayout,
  type ClipArchitecture,
  type ClipCheckpoint,
  type ClipTower,
  inferArchitecture,
  type Json,
  openClipArchitecture,
  openClipCheckpoint,
  type TensorRecipe,
  towerRecipes,
  transformersArchitecture,
} from "./clip_checkpoint.ts";
export { parseProviders, type ProviderName, PROVIDERS } from "./providers.ts";
export {
  loadOrt,
  ONNXRUNTIME_VERSION,
  type OrtModule,
  ortRuntime,
  type OrtSession,
} from "./ort.ts";
export { type OpenedSession, openSession, type OpenSessionOptions } from "./ort_session.ts";
export { type EncoderInputKind, ImageEncoder, type ImageEncoderOptions } from "./image_encoder.ts";
