from grocer.command_base import GrocerCommand


class Command(GrocerCommand):
    def syntax(self):
        return "generate | serve [--host HOST] [--port PORT]"

    def short_desc(self):
        return "Generate the translation tables, or serve them over HTTP"

    def long_desc(self):
        return (
            "generate: write brand_translation_table.json and product_translation_table.json "
            "into TRANSLATION_TABLES_DIR from the database (atomically; nothing is merged). "
            "serve: grocer web's server (`scrapy web`) with only its /tables/ routes: the two "
            "files exactly as they are on disk at /tables/<name>.json (never regenerated, no "
            "database access), with an MD5 ETag and 304 on If-None-Match; every request needs "
            "the header X-Grocer-Token equal to GROCER_TABLES_TOKEN, which must be set. "
            "Spiders elsewhere set TRANSLATION_TABLES_URL=http://HOST:PORT/tables."
        )

    def add_options(self, parser):
        super().add_options(parser)
        parser.add_argument("--host", default="127.0.0.1",
                            help="serve: address to listen on (default 127.0.0.1)")
        parser.add_argument("--port", type=int, default=8765,
                            help="serve: port (default 8765; 0 picks a free one)")
        parser.add_argument("--lock-timeout", type=float, metavar="SECONDS", default=None,
                            help="generate: wait at most SECONDS for the reconciliation lock")

    def run(self, args, opts):
        if args == ["generate"]:
            self.generate(opts)
        elif args == ["serve"]:
            self.serve(opts)
        else:
            self.fail("usage: scrapy tables generate | scrapy tables serve [--host H] [--port P]")

    def directory(self):
        return self.settings.get("TRANSLATION_TABLES_DIR")

    def generate(self, opts):
        from grocer.db.locks import LockTimeout, reconcile_lock
        from grocer.db.tables import generate_tables

        timeout = opts.lock_timeout
        if timeout is None:
            timeout = self.settings.getfloat("GROCER_RECONCILE_LOCK_TIMEOUT")
        engine = self.engine()
        try:
            with reconcile_lock(engine, timeout):
                result = generate_tables(engine, self.directory())
        except LockTimeout as error:
            self.fail(f"a reconciliation holds the lock: {error}", exitcode=1)
        written = ", ".join(result.written) or "unchanged"
        print(f"tables in {result.directory}: {result.brand_entries:,} brand entries, "
              f"{result.product_entries:,} product entries ({written})")

    def serve(self, opts):
        # grocer web's server (`scrapy web`) with only its /tables/ routes: the machine may be
        # reachable by crawlers elsewhere, the catalogue pages need not be; no database.
        from grocer.commands.web import serve
        from grocer.web.app import create_app
        from grocer.web.tables import ServerConfigError

        try:
            app = create_app(tables_dir=self.directory(),
                             tables_token=self.settings.get("GROCER_TABLES_TOKEN"),
                             tables_only=True)
        except ServerConfigError as error:
            self.fail(str(error))
        serve(self, app, opts.host, opts.port, f"serving translation tables from {self.directory()} at /tables/")
