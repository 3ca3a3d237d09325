#!/usr/bin/env python3
"""Schedule a grocer crawl on scrapyd: the N stores of a chain crawled longest ago.

    deploy/schedule.py aldi --stalest 20
    deploy/schedule.py coles --stores COL:401,COL:402 --setting LOG_LEVEL=DEBUG
    deploy/schedule.py woolworths --stalest 50 --wait     # block until the job ends
    deploy/schedule.py coles_barcodes -a limit=2000          # no stores argument
    deploy/schedule.py woolworths --lease 40 --nodes http://n1:6800,http://n2:6800 --jobs 2

Several nodes (--nodes, or $SCRAPYD_NODES: comma-separated scrapyd URLs) get the same job,
--jobs of it each; that needs --lease N (spider argument stores=lease:N): every crawl leases
the N stalest stores no other crawl holds, so together they share out the chain's stores
instead of all crawling the same stalest ones.

Calls scrapyd's schedule.json (project grocer, spider CHAIN, spider argument
stores=stalest:N; coles_barcodes, which looks up product pages, not stores, gets none unless
--stores is given). A chain that already has a job pending or running on the server is not
scheduled again (a cron line firing while the last crawl is still going is skipped), unless
--allow-overlap. Standard library only, so cron can run it with any python3.

Environment: SCRAPYD_URL (default http://127.0.0.1:6800), SCRAPYD_USERNAME and
SCRAPYD_PASSWORD (HTTP basic auth, when scrapyd has one), GROCER_SCRAPYD_PROJECT (default
grocer). Exit status: 0 scheduled or skipped (and, with --wait, the crawl closed `finished`),
1 scrapyd refused or could not be reached, 3 --wait saw another close reason (`blocked`,
`error_budget`, `shutdown`, …) or timed out.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import re
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

CHAINS = ("aldi", "coles", "iga", "woolworths")
STORELESS = ("coles_barcodes",)  # spiders that do not crawl stores one after another
CLOSE_REASON = re.compile(r"Spider closed \(([^)]*)\)")


class ScrapydError(RuntimeError):
    pass


class Scrapyd:
    def __init__(self, url: str, username: str | None = None, password: str | None = None,
                 timeout: float = 30):
        self.url = url.rstrip("/") + "/"
        self.timeout = timeout
        self.headers = {}
        if username:
            token = base64.b64encode(f"{username}:{password or ''}".encode()).decode()
            self.headers["Authorization"] = f"Basic {token}"

    def _call(self, path: str, params=None, post: bool = False) -> dict:
        query = urllib.parse.urlencode(params or [], doseq=True)
        url = urllib.parse.urljoin(self.url, path)
        if post:
            request = urllib.request.Request(url, data=query.encode(), headers=self.headers)
        else:
            request = urllib.request.Request(f"{url}?{query}" if query else url,
                                             headers=self.headers)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                body = response.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as error:
            raise ScrapydError(f"{url}: HTTP {error.code} {error.reason}") from None
        except (urllib.error.URLError, OSError) as error:
            raise ScrapydError(f"{url}: {getattr(error, 'reason', error)}") from None
        try:
            data = json.loads(body)
        except ValueError:
            raise ScrapydError(f"{url}: not JSON: {body[:200]!r}") from None
        if data.get("status") != "ok":
            raise ScrapydError(f"{url}: {data.get('message') or data}")
        return data

    def read(self, path: str) -> str:
        url = urllib.parse.urljoin(self.url, path.lstrip("/"))
        request = urllib.request.Request(url, headers=self.headers)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return response.read().decode("utf-8", "replace")
        except (urllib.error.URLError, OSError):
            return ""

    def jobs(self, project: str) -> dict:
        return self._call("listjobs.json", {"project": project})

    def schedule(self, project: str, spider: str, args: dict[str, str],
                 settings: list[str]) -> str:
        params = [("project", project), ("spider", spider)]
        params += [("setting", setting) for setting in settings]
        params += list(args.items())
        return self._call("schedule.json", params, post=True)["jobid"]


def active_jobs(jobs: dict, spider: str) -> list[dict]:
    return [job for state in ("pending", "running") for job in jobs.get(state, [])
            if job.get("spider") == spider]


def close_reason(log_text: str) -> str | None:
    found = CLOSE_REASON.findall(log_text)
    return found[-1] if found else None


def wait_for(scrapyd: Scrapyd, project: str, job_id: str, timeout: float,
             poll: float = 5.0) -> tuple[str, str | None]:
    """("finished", close reason from the log) once scrapyd lists the job as finished;
    ("timeout", None) after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        jobs = scrapyd.jobs(project)
        for job in jobs.get("finished", []):
            if job.get("id") == job_id:
                log_url = job.get("log_url")
                return "finished", close_reason(scrapyd.read(log_url)) if log_url else None
        time.sleep(poll)
    return "timeout", None


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("chain", choices=CHAINS + STORELESS, help="the spider to run")
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--stalest", type=int, metavar="N", default=10,
                       help="crawl the N stores crawled longest ago (default 10)")
    which.add_argument("--stores", metavar="SPEC",
                       help="instead: store codes (comma-separated), 'all' or 'stalest:N'")
    which.add_argument("--lease", type=int, metavar="N",
                       help="instead: lease the N stalest stores no other crawl holds "
                            "(stores=lease:N; for several jobs at once)")
    parser.add_argument("--url", default=os.environ.get("SCRAPYD_URL", "http://127.0.0.1:6800"),
                        help="scrapyd's URL (default $SCRAPYD_URL or http://127.0.0.1:6800)")
    parser.add_argument("--nodes", default=os.environ.get("SCRAPYD_NODES", ""),
                        metavar="URL,URL,...",
                        help="schedule on each of these scrapyd nodes (default $SCRAPYD_NODES; "
                             "instead of --url); needs --lease")
    parser.add_argument("--jobs", type=int, default=1, metavar="K",
                        help="jobs per node (default 1; more than 1 needs --lease)")
    parser.add_argument("--project", default=os.environ.get("GROCER_SCRAPYD_PROJECT", "grocer"))
    parser.add_argument("--setting", "-s", action="append", default=[], metavar="NAME=VALUE",
                        help="a Scrapy setting for this crawl (repeatable)")
    parser.add_argument("--arg", "-a", action="append", default=[], metavar="NAME=VALUE",
                        help="another spider argument, e.g. categories=... (repeatable)")
    parser.add_argument("--allow-overlap", action="store_true",
                        help="schedule even when the chain has a job pending or running")
    parser.add_argument("--wait", action="store_true",
                        help="wait for the job to end; exit 3 unless it closed 'finished'")
    parser.add_argument("--timeout", type=float, default=24 * 3600,
                        help="--wait: give up after this many seconds (default a day)")
    parser.add_argument("--poll", type=float, default=5.0, help=argparse.SUPPRESS)
    opts = parser.parse_args(argv)
    if opts.stores is None and opts.stalest < 1:
        parser.error("--stalest must be at least 1")
    if opts.lease is not None and opts.lease < 1:
        parser.error("--lease must be at least 1")
    opts.nodes = [url.strip() for url in opts.nodes.split(",") if url.strip()] or [opts.url]
    if opts.jobs < 1:
        parser.error("--jobs must be at least 1")
    if (len(opts.nodes) > 1 or opts.jobs > 1) and opts.lease is None:
        parser.error("several nodes or jobs need --lease N: with stalest:N or store codes "
                     "every job would crawl the same stores")
    for value in opts.setting + opts.arg:
        if "=" not in value:
            parser.error(f"expected NAME=VALUE, got {value!r}")
    return opts


def main(argv=None) -> int:
    opts = parse_args(argv)
    args = dict(value.split("=", 1) for value in opts.arg)
    if opts.lease is not None:
        args["stores"] = f"lease:{opts.lease}"
    elif opts.stores or opts.chain not in STORELESS:
        args["stores"] = opts.stores or f"stalest:{opts.stalest}"
    # Several jobs of one chain are the point of leasing: none is skipped as an overlap.
    allow_overlap = opts.allow_overlap or opts.jobs > 1 or len(opts.nodes) > 1
    jobs, code = [], 0
    for url in opts.nodes:
        scrapyd = Scrapyd(url, os.environ.get("SCRAPYD_USERNAME"),
                          os.environ.get("SCRAPYD_PASSWORD"))
        try:
            jobs += schedule_on(scrapyd, opts, args, allow_overlap)
        except ScrapydError as error:
            print(f"{opts.chain}: scrapyd: {error}", file=sys.stderr)
            code = 1
    if opts.wait:
        for scrapyd, job_id in jobs:
            code = max(code, wait_and_report(scrapyd, opts, job_id))
    return code


def schedule_on(scrapyd: Scrapyd, opts, args: dict, allow_overlap: bool) -> list:
    """Schedule --jobs jobs on one node; [(scrapyd, job id)]."""
    if not allow_overlap:
        busy = active_jobs(scrapyd.jobs(opts.project), opts.chain)
        if busy:
            print(f"{opts.chain}: not scheduled, job {busy[0].get('id')} is still "
                  f"{'running' if 'pid' in busy[0] else 'pending'}")
            return []
    jobs = []
    for _ in range(opts.jobs):
        job_id = scrapyd.schedule(opts.project, opts.chain, args, opts.setting)
        arguments = " ".join(f"{name}={value}" for name, value in args.items())
        print(f"{opts.chain}: scheduled job {job_id} ({arguments or 'no arguments'}) on "
              f"{scrapyd.url}", flush=True)
        jobs.append((scrapyd, job_id))
    return jobs


def wait_and_report(scrapyd: Scrapyd, opts, job_id: str) -> int:
    """--wait for one job: 0 when it closed `finished`, 1 scrapyd failed, 3 otherwise."""
    try:
        state, reason = wait_for(scrapyd, opts.project, job_id, opts.timeout, opts.poll)
    except ScrapydError as error:
        print(f"{opts.chain}: scrapyd: {error}", file=sys.stderr)
        return 1
    if state == "timeout":
        print(f"{opts.chain}: job {job_id} still not done after {opts.timeout:g} s",
              file=sys.stderr)
        return 3
    print(f"{opts.chain}: job {job_id} closed ({reason or 'reason not in the log'})")
    return 0 if reason == "finished" else 3


if __name__ == "__main__":
    sys.exit(main())
