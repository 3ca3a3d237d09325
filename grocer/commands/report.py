"""`scrapy report`: per chain and store, the last attempt (outcome and reason), the last
successful crawl, its counts, its price zone, coverage, STALE; as text, JSON or CSV."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

from grocer.command_base import GrocerCommand
from grocer.crawlstate import REPORTED_COUNTS

FORMATS = ("text", "json", "csv")
FIELDS = ("chain", "store", "name", "supermarket", "status", "last_attempt_at",
          "last_attempt_run", "last_attempt_outcome", "last_attempt_reason",
          "last_attempt_error", "last_success_at", "last_success_run", "fresh", *REPORTED_COUNTS,
          "zone", "inferred_from", "zone_verified_at")


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


def _iso(value: dt.datetime | None) -> str | None:
    return value.astimezone(dt.timezone.utc).isoformat() if value else None


def store_rows(reports) -> list[dict]:
    """One flat record per store, for machines (--format json|csv)."""
    rows = []
    for report in reports:
        for store in report.stores:
            attempt, success = store.last_attempt, store.last_success
            rows.append({
                "chain": report.chain.slug, "store": store.code, "name": store.name,
                "supermarket": store.supermarket, "status": store.status,
                "last_attempt_at": _iso(attempt.at) if attempt else None,
                "last_attempt_run": attempt.id if attempt else None,
                "last_attempt_outcome": attempt.outcome if attempt else None,
                "last_attempt_reason": attempt.reason if attempt else None,
                "last_attempt_error": attempt.error if attempt else None,
                "last_success_at": _iso(success.at) if success else None,
                "last_success_run": success.id if success else None,
                "fresh": store.fresh,
                **{name: store.counts.get(name) for name in REPORTED_COUNTS},
                "zone": store.zone, "inferred_from": store.inferred_from,
                "zone_verified_at": _iso(store.zone_verified_at),
            })
    return rows


def format_json(reports) -> str:
    return json.dumps(store_rows(reports), indent=1) + "\n"


def format_csv(reports) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, FIELDS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(store_rows(reports))
    return out.getvalue()


def format_report(reports, *, days: float, now: dt.datetime, list_all: bool = False) -> str:
    lines = [f"Crawl report at {_when(now)} UTC: STALE = no crawl that completed the store in "
             f"the last {days:g} day(s)", ""]
    for report in reports:
        chain = report.chain
        supermarkets = report.supermarkets
        if not report.stores:
            lines += [f"{chain.name} ({chain.slug}): no stores loaded "
                      "(scrapy loadstores FILE)", ""]
            continue
        last = report.last_run
        lines.append(
            f"{chain.name} ({chain.slug}): coverage {report.fresh_supermarkets:,} of "
            f"{len(supermarkets):,} supermarket stores crawled in the last {days:g} day(s) "
            f"({report.coverage:.1%})"
            + (f"; last crawl {_when(last.at)} {last.close_reason or 'not closed'} (#{last.id})"
               if last is not None else "")
            + (f"; {report.zones:,} price zone(s)" if report.zones else ""))
        shown = [store for store in report.stores
                 if list_all or store.crawled or store.zone is not None]
        hidden = [store for store in report.stores if store not in shown]
        if shown:
            width = max(5, *(len(store.code) for store in shown))
            lines.append(f"  {'store':<{width}}  {'last completed':<21} {'age':>5} "
                         f"{'run':>6} " + " ".join(f"{name:>9}" for name in REPORTED_COUNTS)
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
                    status = f"{status} {failed.reason or failed.outcome}"
                    notes.append(f"last attempt {_when(failed.at)} {failed.outcome}: "
                                 f"{failed.error or failed.reason or '?'}; crawl "
                                 f"{failed.close_reason or 'not closed'} (#{failed.id})")
                if store.inferred_from is not None:
                    notes.append(f"zone {store.zone}: prices inferred from "
                                 f"{store.inferred_from}, verified "
                                 f"{_when(store.zone_verified_at)}")
                elif store.zone is not None:
                    notes.append(f"zone {store.zone} representative, verified "
                                 f"{_when(store.zone_verified_at)}")
                if not store.supermarket:
                    notes.append("not a supermarket")
                lines.append(
                    f"  {store.code:<{width}}  {_when(success.at if success else None):<21} "
                    f"{_age(success.at if success else None, now):>5} {run:>6} "
                    + " ".join(f"{_count(store.counts, name):>9}" for name in REPORTED_COUNTS)
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
        return "[--days N] [--company C] [--all] [--format text|json|csv] [--fail-on-stale]"

    def short_desc(self):
        return "Per chain and store: last successful crawl, its counts, coverage, stale stores"

    def long_desc(self):
        return (
            "For every chain (or --company, comma-separated) and store: the last crawl that "
            "completed the store (every page fetched, every item stored or dropped with a "
            "reason; Store.last_crawled_at when no run was ever recorded for it), its age and "
            "run id, the store's counts in that run (items yielded, stored, dropped, lost, "
            "prices written, prices unchanged), and STALE when it is older than --days "
            "(default 7). When the store's last attempt failed, its outcome and reason "
            "(db_error, blocked, fetch_failed, running, ...) are shown. Coverage: supermarket "
            "stores completed in the last --days days out of all the chain's supermarket "
            "stores. Stores never crawled are only counted unless --all is given. Price zones: "
            "the chain's zone count, each store's zone, whether its prices are inferred from "
            "the zone's representative (a member a zone crawl only basket-checked; fresh when "
            "both its check and the representative's crawl are) and when it was verified. "
            "--format json|csv prints one record per store (every store) for machines; "
            "--fail-on-stale exits 1 when a supermarket store is stale or its last attempt "
            "failed (for monitoring)."
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
        parser.add_argument("--format", choices=FORMATS, default="text",
                            help="text (default), or json / csv: one record per store")
        parser.add_argument("--fail-on-stale", action="store_true",
                            help="exit 1 when a supermarket store is stale or failed")

    def run(self, args, opts):
        from grocer.chains import get_chain
        from grocer.db.report import crawl_report
        from grocer.normalization.dates import utcnow

        if args:
            self.fail(f"usage: scrapy report {self.syntax()}")
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
        reports = crawl_report(self.existing_engine(), days=opts.days, companies=companies,
                               now=now)
        if opts.format == "json":
            self.write(format_json(reports))
        elif opts.format == "csv":
            self.write(format_csv(reports))
        else:
            self.write(format_report(reports, days=opts.days, now=now,
                                     list_all=opts.list_all))
        if opts.fail_on_stale and any(store.supermarket and store.status != "ok"
                                      for report in reports for store in report.stores):
            self.exitcode = 1
