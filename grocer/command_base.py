"""Base of grocer's custom `scrapy` commands (kept outside grocer.commands, where Scrapy would
take it for a command of its own)."""

from __future__ import annotations

import logging

from scrapy.commands import ScrapyCommand
from scrapy.exceptions import UsageError
from scrapy.utils.log import configure_logging


class GrocerCommand(ScrapyCommand):
    """A command that works on grocer's database and needs no crawler."""

    requires_project = True
    requires_crawler_process = False

    def process_options(self, args, opts):
        super().process_options(args, opts)
        configure_logging(self.settings)
        for noisy in ("sqlalchemy", "alembic"):
            logging.getLogger(noisy).setLevel(logging.WARNING)

    def engine(self):
        # Imported here: `scrapy` imports every command module to list them, and most
        # commands never touch the database (start-up time).
        from grocer.db.engine import engine_from_settings

        return engine_from_settings(self.settings)

    def fail(self, message: str, exitcode: int = 2) -> None:
        """Stop the command with a one-line error, no traceback."""
        self.exitcode = exitcode
        raise UsageError(message, print_help=False)
