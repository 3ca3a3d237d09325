import argparse
import datetime as dt
import sys
from pathlib import Path

from grocer.command_base import GrocerCommand

KINDS = ("barcodes", "prices", "history")


class Command(GrocerCommand):
    def syntax(self):
        return "barcodes --company C | prices | history [filters] [--format csv|jsonl] [-o FILE]"

    def short_desc(self):
        return "Export SKU barcodes, current prices or price history (streamed)"

    def long_desc(self):
        return (
            "barcodes: every SKU of --company with its product's barcode and "
            "has_no_coles_barcode. prices: the current price of each product at each store. "
            "history: every recorded price change. prices and history take --company, "
            "--store (store code), --product-key and --since DATE (scraped date, Sydney). "
            "Rows are streamed from the database in chunks, so memory stays constant. The "
            "format is --format, else the extension of -o (.csv -> CSV, anything else JSON "
            "lines); the default output is JSON lines on stdout."
        )

    def add_options(self, parser):
        super().add_options(parser)
        parser.add_argument("--company", help="company slug (aldi, coles, iga, woolworths)")
        parser.add_argument("--store", help="store code as loaded (prices, history)")
        parser.add_argument("--product-key", dest="product_key",
                            help="a product's normalized_name_brand_size (prices, history)")
        parser.add_argument("--since", metavar="DATE",
                            help="only rows scraped on or after DATE, YYYY-MM-DD")
        parser.add_argument("--format", choices=("csv", "jsonl"), default=None)
        parser.add_argument("-o", "--output", metavar="FILE", help="write to FILE, not stdout")
        parser.add_argument("--chunk-size", type=int, default=1000, help=argparse.SUPPRESS)

    def run(self, args, opts):
        from grocer.db import exports

        if len(args) != 1 or args[0] not in KINDS:
            self.fail(f"usage: scrapy export {{{'|'.join(KINDS)}}} [options]")
        kind = args[0]
        fmt = opts.format or ("csv" if opts.output and opts.output.lower().endswith(".csv")
                              else "jsonl")
        since = None
        if opts.since:
            try:
                since = dt.date.fromisoformat(opts.since)
            except ValueError:
                self.fail(f"--since: not a date (YYYY-MM-DD): {opts.since}")
        if opts.chunk_size < 1:
            self.fail("--chunk-size must be at least 1")
        engine = self.engine()
        if kind == "barcodes":
            if not opts.company:
                self.fail("export barcodes needs --company")
            if opts.store or opts.product_key or since:
                self.fail("export barcodes takes only --company, --format and -o")
            rows, fields = exports.iter_barcodes(engine, opts.company, opts.chunk_size), \
                exports.BARCODE_FIELDS
        else:
            query = exports.iter_prices if kind == "prices" else exports.iter_history
            rows = query(engine, company=opts.company, store=opts.store,
                         product_key=opts.product_key, since=since, chunk_size=opts.chunk_size)
            fields = exports.PRICE_FIELDS if kind == "prices" else exports.HISTORY_FIELDS
        if opts.company and not exports.company_exists(engine, opts.company):
            self.fail(f"no company {opts.company!r} in the database", exitcode=1)
        if not opts.output:
            exports.write_rows(rows, sys.stdout, fmt, fields)
            sys.stdout.flush()
            return
        path = Path(opts.output)
        temporary = path.with_name(f".{path.name}.part")  # no half-written FILE on failure
        try:
            with open(temporary, "w", encoding="utf-8", newline="") as out:
                count = exports.write_rows(rows, out, fmt, fields)
            temporary.replace(path)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
        print(f"{count:,} {kind} rows written to {path}", file=sys.stderr)

