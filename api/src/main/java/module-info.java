/** The loradrop API: layers, adapters, tensors and the compute backend SPI. JDK only. */
module dev.loradrop.api {
    exports dev.loradrop.api;
    exports dev.loradrop.api.spi;
}
