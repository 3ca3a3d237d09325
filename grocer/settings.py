"""Scrapy settings for grocer.

Everything a deployment changes is read from the environment (``GROCER_*`` and a few plain
names), so the same egg runs on a laptop, in CI and under scrapyd. ``-s NAME=value`` on the
command line still wins over both.
"""

import os

from scrapy.settings import default_settings as _scrapy_defaults


def _env(name, default):
    value = os.environ.get(name)
    return default if value in (None, "") else value


BOT_NAME = "grocer"
SPIDER_MODULES = ["grocer.spiders"]
NEWSPIDER_MODULE = "grocer.spiders"
COMMANDS_MODULE = "grocer.commands"

# --- storage --------------------------------------------------------------------------------
# Default: a SQLite file in the working directory (WAL, foreign keys on). MariaDB/MySQL:
# mysql+pymysql://user:pass@host:3306/db (utf8mb4 is added automatically).
GROCER_DATABASE_URL = _env("GROCER_DATABASE_URL", "sqlite:///grocer.sqlite3")
# Directory holding brand_translation_table.json and product_translation_table.json.
TRANSLATION_TABLES_DIR = _env("TRANSLATION_TABLES_DIR", "translation_tables")
# When set, spiders download the tables from this base URL (see `scrapy tables serve`).
TRANSLATION_TABLES_URL = _env("TRANSLATION_TABLES_URL", "")
GROCER_TABLES_TOKEN = _env("GROCER_TABLES_TOKEN", "")
TABLES_REFRESH_EVERY_STORES = int(_env("TABLES_REFRESH_EVERY_STORES", 5))

# Rows per database batch in the resolve and price pipelines.
GROCER_BATCH_SIZE = int(_env("GROCER_BATCH_SIZE", 1000))
# Longest wait, in seconds, for the database: connecting, one query's answer, one write, a pooled
# connection, SQLite's busy wait. A database that stops answering fails the crawl (db_errors).
GROCER_DB_TIMEOUT = float(_env("GROCER_DB_TIMEOUT", 30))
# Observations dated more than this many seconds in the future are dropped (future_date).
GROCER_MAX_FUTURE_SKEW_SECONDS = float(_env("GROCER_MAX_FUTURE_SKEW_SECONDS", 86400))
# Crawl health: a crawl dropping more than this share of its items closes as `error_budget`.
GROCER_MAX_DROP_RATE = float(_env("GROCER_MAX_DROP_RATE", 0.05))
# ... checked during the crawl once this many items were seen (and at its end on all of them).
GROCER_MIN_ITEMS_FOR_BUDGET = int(_env("GROCER_MIN_ITEMS_FOR_BUDGET", 50))
# Drop reasons counted but left out of the budget (comma-separated): ad/banner tiles, and
# Woolworths marketplace sellers' items (not the store's products; the site mixes them in).
GROCER_BUDGET_IGNORED_REASONS = _env("GROCER_BUDGET_IGNORED_REASONS",
                                     "not_a_product,marketplace")
# Product fields whose completeness the crawl-health summary reports (comma-separated).
GROCER_HEALTH_FIELDS = _env("GROCER_HEALTH_FIELDS",
                            "barcode,brand,size,unit_price,category_path,image_url")

# Price zones (`-a by=zone`): a store matches a zone when at most this share of the basket
# products both carry differ (its overrides) and they have at least GROCER_ZONE_MIN_COMMON.
GROCER_ZONE_MAX_OVERRIDE_SHARE = float(_env("GROCER_ZONE_MAX_OVERRIDE_SHARE", 0.1))
GROCER_ZONE_MIN_COMMON = int(_env("GROCER_ZONE_MIN_COMMON", 10))
# Where a zone crawl (-a by=zone) gets the chain's price zones: (crawler, chain) → ChainZones.
GROCER_ZONE_DIRECTORY = "grocer.db.targets.known_zones"
# `scrapy ingest` logs a progress line (line N, items/s, ETA) at most this often (seconds).
GROCER_INGEST_PROGRESS_SECONDS = float(_env("GROCER_INGEST_PROGRESS_SECONDS", 10))

# -a stores=lease:N: a crawl's lease on its stores lasts this long (seconds) and is renewed
# every third of it while the crawl runs; a killed crawl's stores are free again after it.
GROCER_LEASE_SECONDS = float(_env("GROCER_LEASE_SECONDS", 1800))
# ... and a store completed less than this many hours ago is not leased again (one round).
GROCER_LEASE_RECRAWL_HOURS = float(_env("GROCER_LEASE_RECRAWL_HOURS", 12))

# --- chains ---------------------------------------------------------------------------------
# Only scheme and host come from settings; paths and parameters are the real sites'.
ALDI_BASE_URL = _env("ALDI_BASE_URL", "https://api.aldi.com.au")
COLES_BASE_URL = _env("COLES_BASE_URL", "https://www.coles.com.au")
WOOLWORTHS_BASE_URL = _env("WOOLWORTHS_BASE_URL", "https://www.woolworths.com.au")
IGA_BASE_URL = _env("IGA_BASE_URL", "https://www.igashop.com.au")
# IGA's store locator is Salefinder's (the other chains' are on their own hosts above).
IGA_STORES_BASE_URL = _env("IGA_STORES_BASE_URL", "https://embed.salefinder.com.au")

_CONTACT_UA = "grocer/0.1 (+https://github.com/grocer-au/grocer)"
_BROWSER_UA = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/142.0.0.0 Safari/537.36"
)
ALDI_USER_AGENT = _env("ALDI_USER_AGENT", _CONTACT_UA)
IGA_USER_AGENT = _env("IGA_USER_AGENT", _CONTACT_UA)
WOOLWORTHS_USER_AGENT = _env("WOOLWORTHS_USER_AGENT", _BROWSER_UA)
# Must be the User-Agent of the browser the Coles cookies were exported from.
COLES_USER_AGENT = _env("COLES_USER_AGENT", _BROWSER_UA)
COLES_COOKIES_FILE = _env("COLES_COOKIES_FILE", "")
# The Coles session: "file" (COLES_COOKIES_FILE) or "browser" (a headless Chromium passes the
# bot protection's challenge; renewed on a block at most COLES_SESSION_RENEWALS times per request
# and in a row).
COLES_SESSION = _env("COLES_SESSION", "file")
COLES_SESSION_RENEWALS = int(_env("COLES_SESSION_RENEWALS", 3))
# Empty: Playwright's own Chromium when installed, else `chromium` on the PATH.
COLES_BROWSER_EXECUTABLE = _env("COLES_BROWSER_EXECUTABLE", "")
# Seconds a browser visit may take to pass the challenge.
COLES_BROWSER_TIMEOUT = float(_env("COLES_BROWSER_TIMEOUT", 60))
# The API key the Coles website sends with its store-finder GraphQL requests (header
# ocp-apim-subscription-key; copy it from the browser's request). Empty: not sent.
COLES_API_SUBSCRIPTION_KEY = _env("COLES_API_SUBSCRIPTION_KEY", "")
USER_AGENT = _CONTACT_UA

# Store locators: a complete sweep closes the stores it no longer lists, unless they are more
# than this share of the chain's open stores (then it closes none and says so).
GROCER_STORES_MAX_CLOSED_SHARE = float(_env("GROCER_STORES_MAX_CLOSED_SHARE", 0.2))

# Where chain spiders get their stores: a callable (crawler, chain, -a stores= value) →
# StoreTargets. Tests replace it to build spiders without a database.
GROCER_STORE_DIRECTORY = "grocer.db.targets.store_targets"
# Where the drift guard looks up the store a page named instead (tests replace it).
GROCER_KNOWN_STORES = "grocer.db.targets.known_stores"
# Where the Coles barcode phase gets the products to look up: a callable (crawler, after
# product id, limit) → BarcodeCandidates by product id (tests replace it).
GROCER_BARCODE_CANDIDATES = "grocer.db.barcodes.barcode_candidates"

# --- pipelines and extensions ---------------------------------------------------------------
# The pipelines that only compute (no database): all a dry run runs (`scrapy parse --pipelines`).
GROCER_DRY_RUN_PIPELINES = {
    "grocer.pipelines.clean.CleanPipeline": 100,
    "grocer.pipelines.normalize.NormalizePipeline": 200,
}
ITEM_PIPELINES = {
    **GROCER_DRY_RUN_PIPELINES,
    "grocer.pipelines.resolve.ResolvePipeline": 300,
    "grocer.pipelines.prices.PricePipeline": 400,
}
# ITEM_PIPELINES in a worker process forked at the crawl's start, on the second core
# (grocer.pipelineworker); False runs them in the crawl's own process, as Scrapy does.
ITEM_PROCESSOR = "grocer.pipelineworker.processor.PipelineWorker"
GROCER_PIPELINE_WORKER = _env("GROCER_PIPELINE_WORKER", True)
# Set by `scrapy parse` and `scrapy check` (grocer.commands.parse): nothing is written to the
# database — no CrawlRun, no store, no price, no reconciliation.
GROCER_DRY_RUN = False
SPIDER_MIDDLEWARES = {
    # A crawl being closed (error budget) stops reading start(): see grocer.extensions.health.
    "grocer.extensions.health.StartGate": 10,
}
# The end-of-crawl stats dump without the per-store counters (they are in the CrawlRun).
STATS_CLASS = "grocer.stats.GrocerStatsCollector"
EXTENSIONS = {
    # Before ReconcileOnClose: its health summary goes into the stats the CrawlRun records.
    "grocer.extensions.health.CrawlHealth": 400,
    # Before ReconcileOnClose: a zone crawl's decisions are stored before anything is delisted.
    "grocer.extensions.zones.ZoneRecorder": 450,
    "grocer.extensions.reconcile.ReconcileOnClose": 500,
}
# Scrapy's own extensions without the telnet console and the remote control: off below
# (TELNETCONSOLE_ENABLED, REMOTE_CONTROL_ENABLED), and not even imported - their modules pull
# in twisted.conch and aiohttp (two TLS contexts), a tenth of a second of every crawl's start.
# Disabling them in EXTENSIONS (None) would not do: Scrapy imports every key of EXTENSIONS to
# merge it with this. Enabling one means adding it to EXTENSIONS.
EXTENSIONS_BASE = {path: order for path, order in _scrapy_defaults.EXTENSIONS_BASE.items()
                   if path not in ("scrapy.extensions.telnet.TelnetConsole",
                                   "scrapy.extensions.remote_control.RemoteControl")}
# Reconciliation when a crawl closes `finished` without database errors (DESIGN §5).
GROCER_RECONCILE_ON_CLOSE = _env("GROCER_RECONCILE_ON_CLOSE", "true").lower() not in (
    "0", "false", "no")
# Seconds to wait for another reconciliation (same database) before giving up on this one.
GROCER_RECONCILE_LOCK_TIMEOUT = float(_env("GROCER_RECONCILE_LOCK_TIMEOUT", 600))
# Products younger than this are never orphans (a running crawl may not have priced them yet).
GROCER_ORPHAN_GRACE_SECONDS = float(_env("GROCER_ORPHAN_GRACE_SECONDS", 3600))

# --- politeness and robustness --------------------------------------------------------------
ROBOTSTXT_OBEY = _env("ROBOTSTXT_OBEY", "true").lower() not in ("0", "false", "no")
CONCURRENT_REQUESTS = 8
CONCURRENT_REQUESTS_PER_DOMAIN = 4
DOWNLOAD_DELAY = float(_env("DOWNLOAD_DELAY", 0.5))
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 1.0
AUTOTHROTTLE_MAX_DELAY = 30.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0
DOWNLOAD_TIMEOUT = 60
RETRY_ENABLED = True
RETRY_TIMES = 4
RETRY_HTTP_CODES = [429, 500, 502, 503, 504, 522, 524, 408]
# Exponential backoff between retries: base ** attempt seconds, capped.
RETRY_BACKOFF_BASE = float(_env("RETRY_BACKOFF_BASE", 2.0))
RETRY_BACKOFF_MAX = float(_env("RETRY_BACKOFF_MAX", 60.0))
# A 429/503 asking (Retry-After) for a longer wait than this many seconds is given up at once.
GROCER_MAX_RETRY_AFTER = float(_env("GROCER_MAX_RETRY_AFTER", 120.0))
DOWNLOADER_MIDDLEWARES = {
    # Scrapy's retries, honouring Retry-After (at Scrapy's own place, 550).
    "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
    "grocer.middlewares.RetryAfterMiddleware": 550,
    # After the HTTP cache (900): replays never wait.
    "grocer.middlewares.RetryBackoffMiddleware": 950,
}
# Requests of different stores are different pages even at the same URL (Coles: cookie).
REQUEST_FINGERPRINTER_CLASS = "grocer.middlewares.StoreAwareRequestFingerprinter"
HTTPCACHE_ENABLED = _env("HTTPCACHE_ENABLED", "false").lower() in ("1", "true", "yes")
# Relative: under the project's .scrapy/ (needs scrapy.cfg); scrapyd jobs need an absolute path.
HTTPCACHE_DIR = _env("HTTPCACHE_DIR", "httpcache")
HTTPCACHE_POLICY = "scrapy.extensions.httpcache.DummyPolicy"
HTTPCACHE_IGNORE_HTTP_CODES = [301, 302, 403, 429, 500, 502, 503, 504]

LOG_LEVEL = _env("LOG_LEVEL", "INFO")
# Scrapy's messages; the per-item "Scraped from" one only under LOG_LEVEL=DEBUG.
LOG_FORMATTER = "grocer.extensions.logformatter.GrocerLogFormatter"
FEED_EXPORT_ENCODING = "utf-8"
# No debugging ports on crawl machines (Scrapy ≥ 2.19 opens a remote-control port by default).
TELNETCONSOLE_ENABLED = False
REMOTE_CONTROL_ENABLED = False
TWISTED_REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"
