from pathlib import Path

from scrapy.commands import ScrapyCommand
from scrapy.exceptions import UsageError

from grocer.commands.ingest_spider import INVALID_LINES, IngestSpider


class Command(ScrapyCommand):
    requires_project = True

    def syntax(self):
        return "FILE.jsonl [--company C] [--store S]"

    def short_desc(self):
        return "Push JSON lines (grocer items or SplitCart archive lines) through the pipelines"

    def long_desc(self):
        return (
            "Replays a crawl feed (scrapy crawl ... -O items.jsonl) or migrates a SplitCart "
            "archive ({product, metadata} lines) through clean, normalize, resolve and prices, "
            "then closes like a finished crawl (reconciliation runs). Derived fields are "
            "recomputed. The store is --store, else the line's metadata.store_id, else the "
            "chain's default store (aldi G102, coles COL:401, woolworths 1147); an unknown store "
            "is created under its company with a warning. Invalid lines are counted and "
            "reported with their line number; the rest still load."
        )

    def add_options(self, parser):
        super().add_options(parser)
        parser.add_argument("--company", help="company of every line (aldi, coles, iga, "
                            "woolworths); default: the line's own")
        parser.add_argument("--store", help="store code of every line, e.g. G102")

    def run(self, args, opts):
        if len(args) != 1:
            raise UsageError("usage: scrapy ingest FILE.jsonl [--company C] [--store S]")
        path = Path(args[0])
        if not path.is_file():
            raise UsageError(f"no such file: {path}", print_help=False)
        crawler = self.crawler_process.create_crawler(IngestSpider)
        self.crawler_process.crawl(crawler, path=str(path), company=opts.company,
                                   store=opts.store)
        self.crawler_process.start()
        if self.crawler_process.bootstrap_failed:
            self.exitcode = 1
            return
        stats = crawler.stats.get_stats()
        print(
            f"{path}: {stats.get('item_scraped_count', 0):,} items stored, "
            f"{stats.get('grocer/dropped_total', 0):,} dropped, "
            f"{stats.get(INVALID_LINES, 0):,} invalid lines; prices "
            f"{stats.get('grocer/prices/new', 0):,} new, "
            f"{stats.get('grocer/prices/changed', 0):,} changed, "
            f"{stats.get('grocer/prices/unchanged', 0):,} unchanged; "
            f"{stats.get('grocer/history_rows', 0):,} history rows; "
            f"close reason {stats.get('finish_reason')}"
        )
        if stats.get("grocer/db_errors") or stats.get("finish_reason") != "finished":
            self.exitcode = 1
