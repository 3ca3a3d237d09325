"""`scrapy parse URL --spider CHAIN` and `scrapy check` are dry runs: both fetch real pages
through a chain spider, but neither is a crawl, and neither writes to the database.

`DryRun` sets GROCER_DRY_RUN (ReconcileOnClose then records no CrawlRun and reconciles
nothing) and keeps only the pipelines that compute (GROCER_DRY_RUN_PIPELINES, for `parse
--pipelines`). Their start() is the command's own (the URL, the contracts): no store is
selected, so no default store is crawled or created. The chain spiders' `parse` reads a
category page into its products.
"""

from scrapy.commands.parse import Command as ScrapyParse


class DryRun:
    """Mixed into a Scrapy command, before the command's class."""

    def process_options(self, args, opts):
        super().process_options(args, opts)
        # Command-line priority: above the project's settings, so `-s` cannot undo it either.
        self.settings.set("GROCER_DRY_RUN", True, priority="cmdline")
        self.settings.set("ITEM_PIPELINES", self.settings.getdict("GROCER_DRY_RUN_PIPELINES"),
                          priority="cmdline")


class Command(DryRun, ScrapyParse):
    pass
