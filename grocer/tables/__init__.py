"""Translation tables (DESIGN §4): files (load, validate, atomic write) and their refresh during a crawl."""
