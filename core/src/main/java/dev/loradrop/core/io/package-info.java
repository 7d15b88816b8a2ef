/**
 * Weights in and out: safetensors files ({@link dev.loradrop.core.io.SafetensorsFile},
 * {@link dev.loradrop.core.io.SafetensorsWriter}), Hugging Face PEFT adapter folders
 * ({@link dev.loradrop.core.io.PeftAdapters}) and training checkpoints
 * ({@link dev.loradrop.core.io.Checkpoint}).
 */
package dev.loradrop.core.io;
