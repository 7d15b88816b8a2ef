/** Layers and LoRA adapters. */
package dev.loradrop.core;
