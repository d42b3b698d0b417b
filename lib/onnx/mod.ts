/**
 * Everything that knows ONNX: the graph builder, the CLIP-shaped model builder, safetensors
 * checkpoints and their mapping onto it, the execution
 * providers, and ONNX Runtime sessions (the image encoder and evaluation graphs).
 * @module
 */
export * from "./onnx_graph.ts";
export * from "./clip_model_builder.ts";
export * from "./safetensors.ts";
export * from "./clip_checkpoint.ts";
export * from "./providers.ts";
export * from "./image_encoder.ts";
export * from "./ort.ts";
export * from "./ort_session.ts";
