/** The {@code loradrop} command line app: {@link dev.loradrop.examples.LoradropCommand}. */
package dev.loradrop.examples;
