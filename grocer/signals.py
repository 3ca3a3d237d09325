"""grocer's own Scrapy signals."""

# Sent by a spider after it refreshed the translation tables in TRANSLATION_TABLES_DIR
# (every TABLES_REFRESH_EVERY_STORES stores); the normalize pipeline reloads them.
tables_refreshed = object()
