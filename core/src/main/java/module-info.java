/**
 * loradrop core: layers, the LoRA-drop adapter, optimisers, losses, the backend registry and the
 * Guice module, and weight IO (safetensors, PEFT adapter files, checkpoints).
 *
 * @uses dev.loradrop.api.spi.ComputeBackendProvider
 */
// Guice is an automatic module; it is transitive because LoRADropModule extends AbstractModule.
@SuppressWarnings("requires-transitive-automatic")
module dev.loradrop.core {
    requires transitive dev.loradrop.api;
    requires transitive com.google.guice;
    requires jakarta.inject;
    requires org.slf4j;
    requires com.fasterxml.jackson.databind;

    exports dev.loradrop.core;
    exports dev.loradrop.core.optim;
    exports dev.loradrop.core.loss;
    exports dev.loradrop.core.backend;
    exports dev.loradrop.core.inject;
    exports dev.loradrop.core.io;
    exports dev.loradrop.core.jit;

    opens dev.loradrop.core.inject to com.google.guice;

    uses dev.loradrop.api.spi.ComputeBackendProvider;
}
