"""grocer web: the read-only web application and JSON API over the database (`scrapy web`)."""
