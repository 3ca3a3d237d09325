"""Base of grocer's custom `scrapy` commands (kept outside grocer.commands, where Scrapy would
take it for a command of its own)."""

from __future__ import annotations

import atexit
import functools
import gc
import logging
import os
import sys

from scrapy.commands import ScrapyCommand
from scrapy.utils.log import configure_logging


class CommandFailed(Exception):
    """Raised by GrocerCommand.fail: one line on stderr, the exit code, no usage text."""

    def __init__(self, message: str, exitcode: int):
        super().__init__(message)
        self.exitcode = exitcode


def one_line_errors(run):
    """A command's run(): a database that cannot be used or an output closed early is one line
    on stderr and exit code 1, not a traceback."""

    @functools.wraps(run)
    def wrapper(self, args, opts):
        from grocer.db.errors import DatabaseError, describe
        from grocer.db.migrate import SchemaNotCurrent

        try:
            return run(self, args, opts)
        except CommandFailed as failure:
            print(f"scrapy {self.command_name}: {failure}", file=sys.stderr)
            self.exitcode = failure.exitcode
        except BrokenPipeError:
            # The reader went away (`| head`): stop writing, say so once.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            print(f"scrapy {self.command_name}: output closed before the end (broken pipe)",
                  file=sys.stderr)
            self.exitcode = 1
        except OSError as error:  # a bad output path, an unreadable file
            where = f"{error.filename}: " if error.filename else ""
            print(f"scrapy {self.command_name}: {where}{error.strerror or error}",
                  file=sys.stderr)
            self.exitcode = 1
        except (DatabaseError, SchemaNotCurrent) as error:
            print(f"scrapy {self.command_name}: {describe(error, self._engine)}", file=sys.stderr)
            self.exitcode = 1
        finally:
            if self._engine is not None:  # closed here, not left to the teardown (see below)
                self._engine.dispose()

    return wrapper


def freeze_at_exit() -> None:
    """The process ends with the command: the interpreter's last collections would walk every
    object it made (a third of a second after an ingest) only to free memory the OS takes back
    anyway. What must be closed is closed before: the database connections by the command
    (one_line_errors, the ingest, the crawl's dispose_engines), files where they are used."""
    atexit.register(gc.freeze)


class GrocerCommand(ScrapyCommand):
    """A command that works on grocer's database and needs no crawler. Every command's run()
    turns database errors and a broken pipe into one line (see one_line_errors)."""

    requires_project = True
    requires_crawler_process = False
    _engine = None

    @property
    def command_name(self) -> str:
        return type(self).__module__.rsplit(".", 1)[-1]  # Scrapy names commands so

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "run" in cls.__dict__:
            cls.run = one_line_errors(cls.__dict__["run"])

    def process_options(self, args, opts):
        super().process_options(args, opts)
        configure_logging(self.settings)
        freeze_at_exit()
        for noisy in ("sqlalchemy", "alembic"):
            logging.getLogger(noisy).setLevel(logging.WARNING)

    def engine(self):
        # Imported here: `scrapy` imports every command module to list them, and most
        # commands never touch the database (start-up time).
        from grocer.db.engine import engine_from_settings

        self._engine = engine_from_settings(self.settings)
        return self._engine

    def existing_engine(self):
        """The engine of a database that must exist already: a read-only command never
        creates an empty SQLite file at a mistyped path."""
        engine = self.engine()
        path = engine.url.database if engine.url.get_backend_name() == "sqlite" else None
        if path and path != ":memory:" and not os.path.exists(path):
            self.fail(f"no database at {path}: check GROCER_DATABASE_URL (a crawl or "
                      "`scrapy migrate` creates it)")
        return engine

    def write(self, text: str) -> None:
        sys.stdout.write(text)
        sys.stdout.flush()

    def fail(self, message: str, exitcode: int = 2) -> None:
        """Stop the command with a one-line error, no traceback (2: usage, bad input)."""
        raise CommandFailed(message, exitcode)
