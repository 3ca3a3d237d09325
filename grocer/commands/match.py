from grocer.command_base import GrocerCommand


class Command(GrocerCommand):
    def syntax(self):
        return "[--min-score N] [--companies a,b] [-o report.csv|report.json] [--apply]"

    def short_desc(self):
        return "Suggest (and optionally apply) matches of the same product across chains"

    def long_desc(self):
        return (
            "Reads every product with the chains that sell it, pairs products of different "
            "chains that agree on brand and size, scores their names and keeps only pairs that "
            "are each other's clear best match and pass the guards (no conflicting variant "
            "words such as lite vs full cream, no differing numbers, no cans vs bottles) and "
            "whose brand-and-size block leaves no doubt (no other listing that differs only by "
            "generic words or another brand's name, no article a chain lists twice). Without "
            "--apply it only "
            "reports: a table on stdout, or a CSV/JSON file with -o (both keys, names, scores, "
            "block and rule of every pair) to review. With --apply the pairs are added to "
            "product_translation_table.json in TRANSLATION_TABLES_DIR as variation -> "
            "canonical (the product with more prices; existing entries are never changed); "
            "the next reconciliation (a finished crawl or `scrapy reconcile`) merges them."
        )

    def add_options(self, parser):
        super().add_options(parser)
        parser.add_argument("--min-score", type=float, default=None, metavar="N",
                            help="score (0-100) a pair with equal sizes needs (default 80; "
                                 "weaker size evidence needs more)")
        parser.add_argument("--companies", default="", metavar="A,B",
                            help="only these chains (company slugs, comma-separated; "
                                 "default all)")
        parser.add_argument("--apply", action="store_true",
                            help="write the pairs into the product translation table")
        parser.add_argument("-o", "--output", default=None, metavar="FILE",
                            help="write the report to FILE (.csv or .json)")

    def run(self, args, opts):
        from grocer.db.matching import load_match_products
        from grocer.matching.review import run_match

        if args:
            self.fail("usage: scrapy match " + self.syntax())
        if opts.min_score is not None and not 0 <= opts.min_score <= 100:
            self.fail("--min-score must be between 0 and 100")
        if opts.output and not opts.output.lower().endswith((".csv", ".json")):
            self.fail("-o/--output must end in .csv or .json")
        companies = [c.strip() for c in opts.companies.split(",") if c.strip()]
        if opts.companies and len(companies) < 2:
            self.fail("--companies needs at least two chains")
        directory = self.settings.get("TRANSLATION_TABLES_DIR") or "translation_tables"
        try:
            products = load_match_products(self.engine(), companies or None)
            result = run_match(products, min_score=opts.min_score, output=opts.output,
                               apply=opts.apply, tables_dir=directory)
        except ValueError as error:  # an invalid translation table
            self.fail(str(error), exitcode=1)
        print("\n".join(result.lines))
