"""`grocer web`: a read-only Starlette application over grocer's database (issue 17).

Pages (Jinja2, server-rendered SVG charts, one hand-written stylesheet, no JavaScript): search
``/``, product ``/products/<id>``, ``/changes``, ``/stores``; the same data as JSON under
``/api/``; the translation tables under ``/tables/``. Every endpoint that reads the database or
the disk is a plain function, which Starlette runs in its threadpool: the event loop never
waits on them. The engine is made on first use, so serving only the tables never opens the
database.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import threading
from decimal import Decimal
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from grocer.chains import CHAINS
from grocer.db import catalog
from grocer.db.engine import get_engine
from grocer.normalization.dates import utcnow
from grocer.web import chart
from grocer.web.tables import TablesSource, serve_table

HERE = Path(__file__).parent
DEFAULT_CHANGES_DAYS = 1  # /changes without `since`: the last day


def to_json(value):
    """JSON form of what the catalogue returns: money as numbers, times in ISO 8601 UTC."""
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


class GrocerJSON(JSONResponse):
    def render(self, content) -> bytes:
        return json.dumps(content, default=to_json, ensure_ascii=False,
                          separators=(",", ":")).encode("utf-8")


def _money(value) -> str:
    return "–" if value is None else f"${float(value):,.2f}"


def _unit(price: dict) -> str:
    if price.get("unit_price") is None:
        return ""
    unit = price.get("unit_of_measure")
    return f"{_money(price['unit_price'])}/{unit}" if unit else _money(price["unit_price"])


def _when(value) -> str:
    return "–" if value is None else value.astimezone(dt.timezone.utc).strftime(
        "%Y-%m-%d %H:%M UTC")


def _int(request: Request, name: str, default: int) -> int:
    value = request.query_params.get(name)
    if value in (None, ""):
        return default
    try:
        return int(value)
    except ValueError:
        raise HTTPException(400, f"{name} must be a whole number") from None


def _since(request: Request) -> dt.datetime:
    """`since` as a date (YYYY-MM-DD, midnight UTC) or an ISO datetime; default a day ago."""
    value = request.query_params.get("since")
    if not value:
        return utcnow() - dt.timedelta(days=DEFAULT_CHANGES_DAYS)
    try:
        since = dt.datetime.fromisoformat(value)
    except ValueError:
        raise HTTPException(400, "since must be a date (YYYY-MM-DD) or ISO datetime") from None
    return since if since.tzinfo else since.replace(tzinfo=dt.timezone.utc)


def _chain(request: Request) -> str | None:
    return request.query_params.get("chain") or None


class GrocerWeb:
    """Holds what requests share: the database URL (engine made lazily), stale days,
    templates."""

    def __init__(self, database_url: str | None, stale_days: float):
        self.database_url = database_url
        self.stale_days = stale_days
        self._engine = None
        self._lock = threading.Lock()
        self.templates = Environment(loader=FileSystemLoader(HERE / "templates"),
                                     autoescape=select_autoescape(["html"]))
        self.templates.filters.update(money=_money, unit=_unit, when=_when)
        self.templates.globals["chain_colour"] = chart.colour

    @property
    def engine(self):
        with self._lock:
            if self._engine is None:
                self._engine = get_engine(self.database_url) if self.database_url else get_engine()
            return self._engine

    def page(self, request: Request, template: str, status: int = 200, **context) -> HTMLResponse:
        html = self.templates.get_template(template).render(request=request, **context)
        return HTMLResponse(html, status_code=status)

    # -- data shared by pages and API -------------------------------------------------------

    def search(self, request: Request) -> dict:
        return catalog.search_products(self.engine, request.query_params.get("q", ""),
                                       _chain(request), _int(request, "page", 1),
                                       _int(request, "per_page", 20))

    def product(self, request: Request) -> dict:
        product = catalog.get_product(self.engine, request.path_params["product_id"],
                                      request.query_params.get("sort", "price"),
                                      request.query_params.get("desc") == "1")
        if product is None:
            raise HTTPException(404, "no such product")
        return product

    def history(self, request: Request) -> dict:
        history = catalog.product_history(self.engine, request.path_params["product_id"])
        if history is None:
            raise HTTPException(404, "no such product")
        return history

    def changes(self, request: Request) -> dict:
        return catalog.price_changes(self.engine, _since(request), _chain(request),
                                     _int(request, "page", 1), _int(request, "per_page", 50))

    def stores(self, request: Request) -> dict:
        try:
            days = float(request.query_params.get("days") or self.stale_days)
        except ValueError:
            days = 0
        if not 0 < days < 10_000:
            raise HTTPException(400, "days must be a number of days above 0")
        return catalog.store_health(self.engine, days=days)

    # -- pages (sync: run in Starlette's threadpool) ----------------------------------------

    def search_page(self, request: Request):
        results = self.search(request)
        return self.page(request, "search.html", results=results,
                         chains=list(CHAINS))

    def product_page(self, request: Request):
        product = self.product(request)
        history = catalog.product_history(self.engine, product["id"])
        per_store = request.query_params.get("stores") == "1"
        series = ([{"name": f"{s['chain']}:{s['store_code']}",
                    "label": f"{s['chain']} {s['store_name'] or s['store_code']}",
                    "points": s["points"]} for s in history["stores"]] if per_store else
                  [{"name": s["chain"], "label": s["chain"], "points": s["points"]}
                   for s in history["chains"]])
        svg = Markup(chart.step_chart(series, now=utcnow()))
        return self.page(request, "product.html", product=product, chart=svg,
                         per_store=per_store, history=history)

    def history_csv(self, request: Request):
        history = self.history(request)
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["series", "chain", "store_code", "store_name", "from", "price",
                         "was_price", "on_special", "unit_price", "unit_of_measure"])
        for s in history["chains"]:
            for p in s["points"]:
                writer.writerow(["chain", s["chain"], "", "", p["at"].isoformat(), p["price"],
                                 p["was_price"] or "", int(p["on_special"]), "", ""])
        for s in history["stores"]:
            for p in s["points"]:
                writer.writerow(["store", s["chain"], s["store_code"], s["store_name"] or "",
                                 p["at"].isoformat(), p["price"], p["was_price"] or "",
                                 int(p["on_special"]), p["unit_price"] or "",
                                 p["unit_of_measure"] or ""])
        name = f"grocer-product-{history['product_id']}-history.csv"
        return Response(out.getvalue(), media_type="text/csv",
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})

    def changes_page(self, request: Request):
        return self.page(request, "changes.html", data=self.changes(request),
                         chains=list(CHAINS))

    def stores_page(self, request: Request):
        data = self.stores(request)
        return self.page(request, "stores.html", data=data,
                         chart=Markup(chart.health_bars(data["chains"])))

    # -- API --------------------------------------------------------------------------------

    def api(self, method):
        def endpoint(request: Request):
            return GrocerJSON(method(request))
        return endpoint


def _error_page(web: GrocerWeb):
    def handler(request: Request, error: HTTPException):
        if request.url.path.startswith(("/api/", "/tables/")):
            return GrocerJSON({"error": error.detail}, status_code=error.status_code)
        return web.page(request, "error.html", status=error.status_code, error=error)
    return handler


def create_app(database_url: str | None = None, *, tables_dir=None, tables_token: str | None = None,
               stale_days: float = 7, tables_only: bool = False) -> Starlette:
    """The application. Tables are served when `tables_token` is set and `tables_dir` exists.
    `tables_only` (`scrapy tables serve`): nothing but ``/tables/``, and a missing token or
    directory raises ServerConfigError."""
    tables = None
    if tables_only or (tables_token and tables_dir and Path(tables_dir).is_dir()):
        tables = TablesSource(tables_dir, tables_token)
    web = GrocerWeb(database_url, stale_days)
    tables_route = Route("/tables/{name}", serve_table, methods=["GET", "HEAD"])
    routes = [tables_route] if tables_only else [
        Route("/", web.search_page),
        Route("/products/{product_id:int}", web.product_page),
        Route("/products/{product_id:int}/history.csv", web.history_csv),
        Route("/products/{product_id:int}/history.json", web.api(web.history)),
        Route("/changes", web.changes_page),
        Route("/stores", web.stores_page),
        Route("/api/products", web.api(web.search)),
        Route("/api/products/{product_id:int}", web.api(web.product)),
        Route("/api/products/{product_id:int}/history", web.api(web.history)),
        Route("/api/changes", web.api(web.changes)),
        Route("/api/stores", web.api(web.stores)),
        tables_route,
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]
    app = Starlette(routes=routes, exception_handlers={HTTPException: _error_page(web)})
    app.state.tables = tables
    app.state.web = web
    return app
