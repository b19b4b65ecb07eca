// Collective module.
