/**
 * Discovery and selection of compute backends: {@link dev.loradrop.core.backend.BackendRegistry}.
 */
package dev.loradrop.core.backend;
