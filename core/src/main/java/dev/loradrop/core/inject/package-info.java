/** Guice bindings for loradrop: {@link dev.loradrop.core.inject.LoRADropModule}. */
package dev.loradrop.core.inject;
