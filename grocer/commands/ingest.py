from pathlib import Path

from grocer import outcome
from grocer.command_base import GrocerCommand


class Command(GrocerCommand):
    def syntax(self):
        return "FILE.jsonl[.gz] [--company C] [--store S]"

    def short_desc(self):
        return "Push JSON lines (grocer items or SplitCart archive lines) through the pipelines"

    def long_desc(self):
        return (
            "Replays a crawl feed (scrapy crawl ... -O items.jsonl) or migrates a SplitCart "
            "archive ({product, metadata} lines) through clean, normalize, resolve and prices, "
            "then closes like a crawl (reconciliation runs when it closes finished). Derived "
            "fields are recomputed. The store is --store, else the line's metadata.store_id, "
            "else the chain's default store (aldi G102, coles COL:401, woolworths 1147); an "
            "unknown store is created under its company with a warning. A gzip file is read "
            "as it is. Lines that cannot be read (not UTF-8, not JSON, neither shape, another "
            "company than --company) are counted and reported with their line number; the "
            "rest still load. Exits non-zero when no line was stored, when more lines were "
            "invalid or dropped than GROCER_MAX_DROP_RATE allows, or when an item was lost."
        )

    def add_options(self, parser):
        super().add_options(parser)
        parser.add_argument("--company", help="company of every line (aldi, coles, iga, "
                            "woolworths); lines naming another one are refused")
        parser.add_argument("--store", help="store code of every line, e.g. G102")

    def run(self, args, opts):
        # Imported here: the pipelines (and what they import) are only this command's.
        from grocer.db.errors import DatabaseError
        from grocer.db.migrate import SchemaNotCurrent
        from grocer.ingest.run import Ingest, run_ingest

        if len(args) != 1:
            self.fail("usage: scrapy ingest FILE.jsonl[.gz] [--company C] [--store S]")
        path = Path(args[0])
        if not path.is_file():
            self.fail(f"no such file: {path}")
        ingest = Ingest(self.settings, path, company=opts.company, store=opts.store)
        try:
            reason = run_ingest(ingest)
        except SchemaNotCurrent as error:
            self.fail(str(error))
        except DatabaseError as error:
            cause = getattr(error, "orig", None) or error
            self.fail(f"database unavailable: {str(cause).splitlines()[0]}")
        print(ingest.summary(reason))
        self.exitcode = outcome.exit_code(reason)
