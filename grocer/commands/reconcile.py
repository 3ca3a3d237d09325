import datetime as dt

from grocer.command_base import GrocerCommand


class Command(GrocerCommand):
    def syntax(self):
        return "[options]"

    def short_desc(self):
        return "Merge duplicate brands and products, delete orphans, regenerate the tables"

    def long_desc(self):
        return (
            "Runs the reconciliation a finished crawl runs (without delisting, which needs a "
            "crawl): the brand and product reconcilers read the translation tables from "
            "TRANSLATION_TABLES_DIR, products without any current price or price history are "
            "deleted, and both tables are regenerated from the database into the same "
            "directory. Takes the same database lock as the reconciliation of a closing crawl, "
            "so the two take turns. Idempotent: a second run changes nothing."
        )

    def add_options(self, parser):
        super().add_options(parser)
        parser.add_argument("--no-merge", action="store_true",
                            help="skip the brand and product reconcilers")
        parser.add_argument("--no-orphans", action="store_true",
                            help="skip the orphan clean-up")
        parser.add_argument("--no-generate", action="store_true",
                            help="do not regenerate the translation tables")
        parser.add_argument("--orphan-grace", type=float, metavar="SECONDS", default=None,
                            help="spare products created less than SECONDS ago "
                                 "(default GROCER_ORPHAN_GRACE_SECONDS)")
        parser.add_argument("--lock-timeout", type=float, metavar="SECONDS", default=None,
                            help="wait at most SECONDS for the lock "
                                 "(default GROCER_RECONCILE_LOCK_TIMEOUT)")

    def run(self, args, opts):
        from grocer.db.locks import LockTimeout
        from grocer.db.reconcile import reconcile

        if args:
            self.fail("usage: scrapy reconcile [options]")
        grace = opts.orphan_grace
        if grace is None:
            grace = self.settings.getfloat("GROCER_ORPHAN_GRACE_SECONDS")
        timeout = opts.lock_timeout
        if timeout is None:
            timeout = self.settings.getfloat("GROCER_RECONCILE_LOCK_TIMEOUT")
        directory = self.settings.get("TRANSLATION_TABLES_DIR")
        try:
            result = reconcile(self.engine(), directory, merge=not opts.no_merge,
                               clean_orphans=not opts.no_orphans,
                               generate=not opts.no_generate,
                               orphan_grace=dt.timedelta(seconds=max(grace, 0)),
                               lock_timeout=timeout)
        except LockTimeout as error:
            self.fail(f"another reconciliation holds the lock: {error}", exitcode=1)
        brands, products = result.brands, result.products
        print(f"brands merged: {brands.brands_merged:,} "
              f"(products re-pointed: {brands.products_repointed:,})")
        print(f"products merged: {products.products_merged:,} "
              f"(older prices deleted: {products.prices_deleted:,}, prices re-pointed: "
              f"{products.prices_repointed:,}, SKUs: {products.skus_repointed:,}, "
              f"history rows: {products.history_repointed:,}, key variations: "
              f"{products.variations_repointed + products.variations_added:,})")
        print(f"orphan products deleted: {result.orphans_deleted:,}")
        if result.tables is not None:
            written = ", ".join(result.tables.written) or "unchanged"
            print(f"tables in {result.tables.directory}: {result.tables.brand_entries:,} brand "
                  f"entries, {result.tables.product_entries:,} product entries ({written})")
        if result.table_error:
            print(f"translation tables not read: {result.table_error}")
            self.exitcode = 1
        print(f"done in {result.seconds:.1f} s")
