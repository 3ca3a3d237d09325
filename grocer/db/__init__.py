"""grocer's database layer: the only package that speaks SQL."""
