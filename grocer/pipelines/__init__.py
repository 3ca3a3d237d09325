"""grocer's item pipelines, one per module, in order: clean (100) → normalize (200) →
resolve (300) → prices (400)."""
