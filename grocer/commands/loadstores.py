from pathlib import Path

from grocer.command_base import GrocerCommand
from grocer.storelist import SIMPLE_COLUMNS, read_store_list


class Command(GrocerCommand):
    def syntax(self):
        return "FILE"

    def short_desc(self):
        return "Load companies, divisions and stores from a store list (idempotent)"

    def long_desc(self):
        return (
            "Reads SplitCart's Django dumpdata store list (stores-*.json; companies-*.json and "
            "divisions-*.json beside it are found by name) or grocer's simple form: a JSON list "
            "of objects, JSON lines (.jsonl, as written by `scrapy crawl <chain>_stores -O "
            f"stores.jsonl`) or a CSV with a header, columns {', '.join(SIMPLE_COLUMNS)}. New "
            "stores are inserted, changed ones updated (a closed one listed again is reopened), "
            "the rest left alone. A row without a company or a store code is reported with its "
            "position and skipped."
        )

    def run(self, args, opts):
        from grocer.db.stores import load_stores

        if len(args) != 1:
            self.fail("usage: scrapy loadstores FILE")
        path = Path(args[0])
        if not path.is_file():
            self.fail(f"no such file: {path}")
        try:
            store_list = read_store_list(path)
        except (ValueError, UnicodeDecodeError) as error:
            self.fail(f"{path}: cannot read store list: {error}")
        for error in store_list.errors:
            print(f"skipped {error}")
        result = load_stores(self.engine(), store_list)
        companies = {}
        for row in store_list.rows:
            companies[row.company] = companies.get(row.company, 0) + 1
        summary = ", ".join(f"{name} {count:,}" for name, count in sorted(companies.items()))
        print(
            f"{len(store_list.rows):,} stores read ({summary}); {result.created:,} created, "
            f"{result.updated:,} updated, {result.reopened:,} reopened, "
            f"{result.unchanged:,} unchanged, "
            f"{len(store_list.errors):,} bad rows skipped"
        )
        if store_list.errors:
            self.exitcode = 1 if not store_list.rows else 0
