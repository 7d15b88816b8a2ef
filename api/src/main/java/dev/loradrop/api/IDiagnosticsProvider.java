package dev.loradrop.api;

import java.util.Map;

/** Something that can describe its current state for logs and bug reports. */
public interface IDiagnosticsProvider {

    /** @return name/value pairs, insertion ordered; values are human-readable */
    Map<String, String> getDiagnostics();
}
