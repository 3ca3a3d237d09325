import os

from grocer.command_base import GrocerCommand


class Command(GrocerCommand):
    def syntax(self):
        return ("[--min-score N] [--companies a,b] [-o report.csv|report.json] "
                "[--reject reviewed.csv] [--apply [--min-confidence X]]")

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
            "confidence, explanation, block and rule of every pair, and an empty decision "
            "column) to review. --reject FILE records the rows of a reviewed report marked "
            "'reject' in match_rejections.json in TRANSLATION_TABLES_DIR: those pairs are never "
            "suggested again. With --apply the pairs (with --min-confidence only the "
            "strongest) are added to "
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
        parser.add_argument("--min-confidence", type=float, default=None, metavar="X",
                            help="with --apply: apply only pairs of at least this confidence "
                                 "(0-1; default all suggested pairs)")
        parser.add_argument("--reject", default=None, metavar="FILE",
                            help="record the rows of a reviewed report (.csv or .json) whose "
                                 "decision is 'reject' as rejected pairs, never suggested again")

    def run(self, args, opts):
        from grocer.db.matching import load_match_products
        from grocer.matching.review import run_match

        if args:
            self.fail("usage: scrapy match " + self.syntax())
        if opts.min_score is not None and not 0 <= opts.min_score <= 100:
            self.fail("--min-score must be between 0 and 100")
        if opts.output and not opts.output.lower().endswith((".csv", ".json")):
            self.fail("-o/--output must end in .csv or .json")
        if opts.min_confidence is not None and not opts.apply:
            self.fail("--min-confidence only applies with --apply")
        if opts.min_confidence is not None and not 0 <= opts.min_confidence <= 1:
            self.fail("--min-confidence must be between 0 and 1")
        if opts.reject and not opts.reject.lower().endswith((".csv", ".json")):
            self.fail("--reject must name a reviewed report (.csv or .json)")
        if opts.reject and not os.path.isfile(opts.reject):
            self.fail(f"--reject: no such file {opts.reject}")
        companies = [c.strip() for c in opts.companies.split(",") if c.strip()]
        if opts.companies and len(companies) < 2:
            self.fail("--companies needs at least two chains")
        directory = self.settings.get("TRANSLATION_TABLES_DIR")
        try:
            products = load_match_products(self.engine(), companies or None)
            result = run_match(products, min_score=opts.min_score, output=opts.output,
                               apply=opts.apply, tables_dir=directory,
                               min_confidence=opts.min_confidence or 0.0,
                               reject_from=opts.reject)
        except ValueError as error:  # an invalid table, rejections file or reviewed report
            self.fail(str(error), exitcode=1)
        print("\n".join(result.lines))
