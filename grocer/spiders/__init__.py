"""grocer's spiders: one module per chain on top of `grocer.spiders.base`."""
