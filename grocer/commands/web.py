from grocer.command_base import GrocerCommand


def serve(command: GrocerCommand, app, host: str, port: int, what: str) -> None:
    """Listen (one clear line when the address is taken), announce the address, serve."""
    from grocer.web.server import address, bind, make_server

    try:
        sock = bind(host, port)
    except OSError as error:
        command.fail(f"cannot listen on {host}:{port}: {error}")
    print(f"{what} on {address(sock)}/ (Ctrl-C stops)", flush=True)
    try:
        make_server(app, command.settings.get("LOG_LEVEL").lower()).run(sockets=[sock])
    finally:
        sock.close()


class Command(GrocerCommand):
    def syntax(self):
        return "[--host HOST] [--port PORT]"

    def short_desc(self):
        return "Serve grocer web: search, product pages, price history, changes, stores, API"

    def long_desc(self):
        return (
            "A read-only web application over GROCER_DATABASE_URL: search (/), product pages "
            "with price-history charts (/products/<id>), price changes (/changes), crawl "
            "health (/stores), the same data as JSON under /api/, and the translation tables "
            "under /tables/ (when GROCER_TABLES_TOKEN is set). See README, 'grocer web'."
        )

    def add_options(self, parser):
        super().add_options(parser)
        parser.add_argument("--host", default="127.0.0.1",
                            help="address to listen on (default 127.0.0.1)")
        parser.add_argument("--port", type=int, default=8000,
                            help="port (default 8000; 0 picks a free one)")
        parser.add_argument("--days", type=float, default=7,
                            help="/stores: a store is stale without a successful crawl in the "
                            "last N days (default 7)")

    def run(self, args, opts):
        if args:
            self.fail("usage: scrapy web [--host HOST] [--port PORT]")
        from grocer.db import migrate
        from grocer.db.errors import DatabaseError
        from grocer.web.app import create_app

        try:
            current, head = migrate.current_revision(self.engine()), migrate.head_revision()
        except DatabaseError as error:
            self.fail(f"cannot open the database: {str(error).splitlines()[0]}")
        if current != head:
            self.fail(f"the database is at schema revision {current or 'none'}, grocer web "
                      f"needs {head}: run `scrapy migrate`")
        app = create_app(self.settings.get("GROCER_DATABASE_URL") or None,
                         tables_dir=self.settings.get("TRANSLATION_TABLES_DIR"),
                         tables_token=self.settings.get("GROCER_TABLES_TOKEN"),
                         stale_days=opts.days)
        serve(self, app, opts.host, opts.port, "serving grocer web")
