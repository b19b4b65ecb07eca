// Optimizers module.
