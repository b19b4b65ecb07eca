// Layers module.
