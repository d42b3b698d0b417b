/**
 * GPU setup: ONNX Runtime's CUDA provider libraries installed and checked (ELF `NEEDED`
 * reader, a CUDA probe in its own process).
 * @module
 */
export * from "./elf_needed.ts";
export * from "./gpu_setup.ts";
