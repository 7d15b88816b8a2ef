package dev.loradrop.core.io;

import dev.loradrop.api.ILayer;
import dev.loradrop.core.LoRAAdapterBase;
import dev.loradrop.core.SequentialModel;
import java.util.LinkedHashMap;
import java.util.Map;

/** Module paths in a model, as its weight names use them: {@code "1"}, {@code "0.2"}, ... */
final class Modules {

    private Modules() {
    }

    /**
     * @param root a model, an adapter, or any layer
     * @param <T> element type
     * @return every adapter by module path ({@code ""} when the root is itself an adapter), in
     *     model order
     */
    static <T extends Number> Map<String, LoRAAdapterBase<T>> adapters(ILayer<T> root) {
        Map<String, LoRAAdapterBase<T>> out = new LinkedHashMap<>();
        collect(root, "", out);
        return out;
    }

    private static <T extends Number> void collect(ILayer<T> layer, String path,
                                                   Map<String, LoRAAdapterBase<T>> out) {
        if (layer instanceof LoRAAdapterBase) {
            out.put(path, (LoRAAdapterBase<T>) layer);
        } else if (layer instanceof SequentialModel) {
            var layers = ((SequentialModel<T>) layer).layers();
            for (int i = 0; i < layers.size(); i++) {
                collect(layers.get(i), join(path, Integer.toString(i)), out);
            }
        }
    }

    /**
     * @param path a module path, possibly empty
     * @param name a name below it
     * @return {@code path.name}, or {@code name} for the root
     */
    static String join(String path, String name) {
        return path.isEmpty() ? name : path + "." + name;
    }
}
