"""`scrapy report`: per chain and store, the last successful crawl, its counts, coverage, STALE."""

from __future__ import annotations

import datetime as dt

from grocer.command_base import GrocerCommand

COLUMNS = ("items", "stored", "dropped", "written", "unchanged")


def _when(value: dt.datetime | None) -> str:
    return value.astimezone(dt.timezone.utc).strftime("%Y-%m-%d %H:%M") if value else "never"


def _age(value: dt.datetime | None, now: dt.datetime) -> str:
    if value is None:
        return "-"
    seconds = max((now - value).total_seconds(), 0)
    if seconds < 3600:
        return f"{int(seconds // 60)}m"
    if seconds < 2 * 86400:
        return f"{int(seconds // 3600)}h"
    return f"{int(seconds // 86400)}d"


def _count(counts: dict, name: str) -> str:
    return f"{counts[name]:,}" if name in counts else "-"


def format_report(reports, *, days: float, now: dt.datetime, list_all: bool = False) -> str:
    lines = [f"Crawl report at {_when(now)} UTC: STALE = no successful (finished) crawl in the "
             f"last {days:g} day(s)", ""]
    for report in reports:
        chain = report.chain
        supermarkets = report.supermarkets
        if not report.stores:
            lines += [f"{chain.name} ({chain.slug}): no stores loaded "
                      "(scrapy loadstores FILE)", ""]
            continue
        lines.append(
            f"{chain.name} ({chain.slug}): coverage {report.fresh_supermarkets:,} of "
            f"{len(supermarkets):,} supermarket stores crawled in the last {days:g} day(s) "
            f"({report.coverage:.1%})")
        shown = [store for store in report.stores if list_all or store.crawled]
        hidden = [store for store in report.stores if store not in shown]
        if shown:
            width = max(5, *(len(store.code) for store in shown))
            lines.append(f"  {'store':<{width}}  {'last successful crawl':<21} {'age':>5} "
                         f"{'run':>6} " + " ".join(f"{name:>9}" for name in COLUMNS)
                         + "  status")
            for store in shown:
                success = store.last_success
                run = ("-" if success is None else f"#{success.id}" if success.id is not None
                       else "no rec")
                # Only supermarkets are expected to be crawled (`stores=all`, coverage).
                status = "ok" if store.fresh else "STALE" if store.supermarket else "-"
                notes = []
                failed = store.failed_since
                if failed is not None:
                    notes.append(f"last attempt {_when(failed.at)} {failed.close_reason or '?'}"
                                 f" (#{failed.id})")
                if not store.supermarket:
                    notes.append("not a supermarket")
                lines.append(
                    f"  {store.code:<{width}}  {_when(success.at if success else None):<21} "
                    f"{_age(success.at if success else None, now):>5} {run:>6} "
                    + " ".join(f"{_count(store.counts, name):>9}" for name in COLUMNS)
                    + f"  {status}" + (f"  ({'; '.join(notes)})" if notes else ""))
        if hidden:
            stale = sum(store.supermarket for store in hidden)
            others = len(hidden) - stale
            lines.append(f"  + {stale:,} supermarket stores never crawled (STALE)"
                         + (f" and {others:,} other stores never crawled" if others else "")
                         + "; --all lists them")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


class Command(GrocerCommand):
    def syntax(self):
        return "[--days N] [--company C] [--all]"

    def short_desc(self):
        return "Per chain and store: last successful crawl, its counts, coverage, stale stores"

    def long_desc(self):
        return (
            "For every chain (or --company, comma-separated) and store: the last successful "
            "crawl (the newest crawl run that closed 'finished' and completed the store; "
            "Store.last_crawled_at when no run was ever recorded for it), its age and run id, "
            "the store's counts in that run (items yielded, stored, dropped, prices written, "
            "prices unchanged), and STALE when that crawl is older than --days (default 7). "
            "When a later crawl of the store did not finish (blocked, error_budget, ...) its "
            "date and reason are shown. Coverage: supermarket stores with a successful crawl "
            "in the last --days days out of all the chain's supermarket stores. Stores never "
            "crawled are only counted unless --all is given."
        )

    def add_options(self, parser):
        super().add_options(parser)
        parser.add_argument("--days", type=float, default=7,
                            help="a store is STALE without a successful crawl in the last N "
                            "days (default 7)")
        parser.add_argument("--company", help="only these chains (aldi, coles, iga, "
                            "woolworths; comma-separated)")
        parser.add_argument("--all", dest="list_all", action="store_true",
                            help="also list the stores never crawled")

    def run(self, args, opts):
        from grocer.chains import get_chain
        from grocer.db.report import crawl_report
        from grocer.normalization.dates import utcnow

        if args:
            self.fail("usage: scrapy report [--days N] [--company C] [--all]")
        if opts.days <= 0:
            self.fail("--days must be more than 0")
        companies = None
        if opts.company:
            try:
                companies = [get_chain(name).slug for name in opts.company.split(",")
                             if name.strip()]
            except ValueError as error:
                self.fail(str(error))
        now = utcnow()
        reports = crawl_report(self.engine(), days=opts.days, companies=companies, now=now)
        print(format_report(reports, days=opts.days, now=now, list_all=opts.list_all), end="")
