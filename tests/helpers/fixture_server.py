"""A local stand-in for the four chains' sites (and the tables endpoint), for spider tests.

`FixtureSite` holds what the sites serve: small invented catalogues from
tests/fixtures/sites/<chain>/ (in the real response shapes), per-store price changes, store
drift, injected faults and a log of every request. `serve(site)` runs it on 127.0.0.1 with a
random port in a thread; the `fixture_site` pytest fixture (tests/spiders/conftest.py) starts
one per test.

Paths are the real sites' (spec §4):
  Aldi        GET  /v2/product-category-tree, /v3/product-search
  Woolworths  GET  / (sets the session cookie the API wants), /apis/ui/PiesCategoriesWithSpecials
              POST /apis/ui/Fulfilment (the session's pick-up store, a cookie; 401 when
                   `woolworths_store_choice_status` says so), /apis/ui/browse/category (answers
                   for the session's store, `WOOLWORTHS_DEFAULT_STORE` without one, whatever
                   its body names)
  Coles       GET  / (buildId), /_next/data/<buildId>/en/browse.json,
                   /_next/data/<buildId>/en/browse/<slug>.json?page=N, /browse, /browse/<slug>,
                   /product/<slug>-<id>; the store comes from the fulfillmentStoreId cookie;
                   with `coles_challenge` a JavaScript challenge of its own (below)
  IGA         GET  /, /api/storefront/stores/<rid>/categoryHierarchy,
                   /api/storefront/stores/<rid>/categories/<id>/search
  all         GET  /robots.txt;  tables: GET /tables/<file> (token, ETag, 304)

Catalogue conventions: `{"generate": N, "template": {...}}` makes N products from a template
(`{n}`/`{n:02}` formatted into strings; a "#int:" prefix makes the value an integer, a
"#gtin:" prefix appends the GS1 check digit);
`"@<list>:<id>"` reuses a product of another list (Coles subcategories).

Coles challenge (`coles_challenge`, invented; like Imperva's reese84): without a valid `reese84`
cookie the home page answers a challenge page whose JavaScript computes a token from a nonce,
sets it as the cookie and reloads; every other route answers the block page. The fault
"expire_session" invalidates every token (and answers the block page);
`coles_blocks_plain_requests` blocks every request a browser did not send (no Sec-Fetch-Mode).
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
import secrets
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

SITES_DIR = Path(__file__).parents[1] / "fixtures" / "sites"

SKU_FIELDS = {"aldi": "sku", "woolworths": "Stockcode", "coles": "id", "iga": "sku"}
PRICE_PATHS = {"aldi": ("price", "amount"), "woolworths": ("Price",), "coles": ("pricing", "now"),
               "iga": ("wholePrice",)}
COLES_PAGE_SIZE = 2  # small, so that paging shows with a few products (the real site: 48)
WOOLWORTHS_SESSION_COOKIE = "bm_sz"
WOOLWORTHS_STORE_COOKIE = "w-fulfilment-store"  # stands for the session's fulfilment state
WOOLWORTHS_DEFAULT_STORE = "1101"  # what the real site answers a session without a store
BLOCK_PAGE = (SITES_DIR / "coles" / "block_page.html")
HOSTS = ("aldi", "coles", "woolworths", "iga", "tables")


CHALLENGE_PAGE = """<!DOCTYPE html><html><head><noscript><title>Pardon Our Interruption</title>
</noscript><script>
var nonce = "%s", sum = 0;
for (var i = 0; i < nonce.length; i++) { sum = (sum * 31 + nonce.charCodeAt(i)) %% 1000003; }
document.cookie = "reese84=" + nonce.split("").reverse().join("") + "." + sum + "; path=/";
window.location.reload();
</script></head><body>Invented stand-in for a JavaScript challenge.</body></html>"""


def challenge_token(nonce: str) -> str:
    """What CHALLENGE_PAGE's JavaScript computes from its nonce."""
    total = 0
    for char in nonce:
        total = (total * 31 + ord(char)) % 1000003
    return f"{nonce[::-1]}.{total}"


def gtin_check_digit(body: str) -> int:
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10


def _expand(value, n: int):
    if isinstance(value, dict):
        return {key: _expand(item, n) for key, item in value.items()}
    if isinstance(value, list):
        return [_expand(item, n) for item in value]
    if isinstance(value, str):
        text = value.format(n=n) if "{n" in value else value
        if text.startswith("#gtin:"):  # 12 digits + their GS1 check digit
            return text[6:] + str(gtin_check_digit(text[6:]))
        return int(text[5:]) if text.startswith("#int:") else text
    return value


def load_catalogue(path: Path) -> dict[str, list]:
    raw = json.loads(path.read_text(encoding="utf-8"))
    lists = {}
    for name, products in raw.items():
        if isinstance(products, dict) and "generate" in products:
            products = [_expand(products["template"], n) for n in range(1, products["generate"] + 1)]
        lists[name] = products
    for name, products in lists.items():  # resolve "@list:id" references
        resolved = []
        for product in products:
            if isinstance(product, str) and product.startswith("@"):
                source, _, wanted = product[1:].partition(":")
                product = next(p for p in lists[source] if isinstance(p, dict)
                               and str(p.get("id")) == wanted)
            resolved.append(product)
        lists[name] = resolved
    return lists


@dataclass
class Fault:
    match: tuple[str, ...]  # every one must be in the request's path?query
    actions: list[str]  # consumed one per matching request: 500, 404, 403, truncated, html, ...


@dataclass
class LoggedRequest:
    method: str
    path: str
    query: dict
    headers: dict
    body: bytes
    cookies: dict
    received_at: float = 0.0  # time.monotonic() when the server read it


@dataclass
class FixtureSite:
    """What the fixture server serves; tests change it between (or during) crawls."""

    catalogues: dict = field(default_factory=dict)  # chain → {list name: [product, ...]}
    trees: dict = field(default_factory=dict)  # chain → category tree response
    coles_product_pages: dict = field(default_factory=dict)
    coles_build_id: str = "20260812.2-0123456789abcdef0123456789abcdef01234567"
    coles_required_cookie: str | None = "reese84"  # a browser cookie the site insists on
    coles_challenge: bool = False  # the cookie must be a token of the challenge (module doc)
    coles_tokens: set = field(default_factory=set)  # the challenge's valid tokens
    coles_blocks_plain_requests: bool = False  # only a browser's requests get through
    coles_rotated_cookie: str | None = None  # a new reese84 value the home page sets
    prices: dict = field(default_factory=dict)  # (chain, site store id, sku) → price
    drift: dict = field(default_factory=dict)  # (chain, site store id) → store id reported
    woolworths_store_choice_status: int = 200  # the live site: 401 to a guest
    faults: list[Fault] = field(default_factory=list)
    # (chain, list name) → the category size the site reports instead of its real one (a site
    # cutting a list short: fewer products than its total)
    reported_totals: dict = field(default_factory=dict)
    robots_txt: str = "User-agent: *\nDisallow: /tables/\n"  # tables must ignore robots.txt
    tables_token: str = "secret-token"
    tables: dict = field(default_factory=dict)  # file name → list of bodies, one per request
    log: list[LoggedRequest] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    urls: dict = field(default_factory=dict)  # chain → base URL, while served

    @classmethod
    def from_fixtures(cls) -> FixtureSite:
        site = cls()
        for chain, tree_file in [("aldi", "category_tree.json"),
                                 ("woolworths", "categories.json"),
                                 ("coles", "categories.json"),
                                 ("iga", "category_hierarchy.json")]:
            site.trees[chain] = json.loads((SITES_DIR / chain / tree_file).read_text())
            site.catalogues[chain] = load_catalogue(SITES_DIR / chain / "products.json")
        site.coles_product_pages = json.loads(
            (SITES_DIR / "coles" / "product_pages.json").read_text())
        return site

    # --- what tests call ----------------------------------------------------------------------

    def set_price(self, chain: str, store_id: str, sku, price) -> None:
        """The price of one product at one store (in the chain's own unit: Aldi cents)."""
        self.prices[(chain, str(store_id), str(sku))] = price

    def fault(self, match: str | tuple[str, ...], *actions: str) -> None:
        """The next requests whose path?query contains `match` (all of a tuple) get `actions`,
        one each: an HTTP status ("500"), "truncated" JSON, "html" instead of JSON, an "empty"
        body, "null_data" (`{"data": null}` with HTTP 200) or the "block" page; then the normal
        response again. A status with a colon carries a Retry-After header: "429:3"."""
        self.faults.append(Fault((match,) if isinstance(match, str) else tuple(match),
                                 list(actions)))

    def requests_to(self, path_contains: str, method: str | None = None) -> list[LoggedRequest]:
        return [r for r in self.log if path_contains in r.path
                and (method is None or r.method == method)]

    def all_products(self, chain: str) -> list[dict]:
        return [p for products in self.catalogues[chain].values() for p in products]

    # --- serving ------------------------------------------------------------------------------

    def take_fault(self, raw_path: str) -> str | None:
        with self.lock:
            for fault in self.faults:
                if fault.actions and all(part in raw_path for part in fault.match):
                    return fault.actions.pop(0)
        return None

    def products(self, chain: str, list_name: str, store_id: str) -> list:
        products = copy.deepcopy(self.catalogues[chain].get(list_name, []))
        for product in products:
            if not isinstance(product, dict):
                continue
            sku = str(product.get(SKU_FIELDS[chain]))
            price = self.prices.get((chain, str(store_id), sku))
            if price is not None:
                *parents, last = PRICE_PATHS[chain]
                target = product
                for key in parents:
                    target = target[key]
                target[last] = price
        return products


class Handler(BaseHTTPRequestHandler):
    server_version = "FixtureSite/1.0"
    protocol_version = "HTTP/1.1"

    @property
    def site(self) -> FixtureSite:
        return self.server.site

    def log_message(self, *args):  # quiet
        pass

    # --- plumbing -----------------------------------------------------------------------------

    def do_GET(self):
        self.handle_any("GET")

    def do_POST(self):
        self.handle_any("POST")

    def handle_any(self, method: str):
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        cookies = {key: morsel.value for key, morsel in
                   SimpleCookie(self.headers.get("Cookie", "")).items()}
        request = LoggedRequest(method, unquote(parts.path), parse_qs(parts.query),
                                {k.lower(): v for k, v in self.headers.items()}, body, cookies,
                                time.monotonic())
        with self.site.lock:
            self.site.log.append(request)
        if parts.path == "/robots.txt":
            return self.send(200, self.site.robots_txt, "text/plain")
        fault = self.site.take_fault(unquote(self.path))
        if fault and self.send_fault(fault):
            return
        try:
            self.route(request)
        except Exception as error:  # a broken fixture must show in the test, not hang it
            self.send(500, f"fixture server error: {type(error).__name__}: {error}", "text/plain")

    def send(self, status: int, body, content_type="application/json", headers=None):
        if not isinstance(body, (bytes, str)):
            body = json.dumps(body)
        data = body.encode("utf-8") if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def send_fault(self, fault: str) -> bool:
        status, _, retry_after = fault.partition(":")
        if status.isdigit():
            self.send(int(status), f"fault {fault}", "text/plain",
                      headers={"Retry-After": retry_after} if retry_after else None)
        elif fault == "truncated":
            self.send(200, '{"data": [{"sku": "0001", "name": "Trunc')
        elif fault == "html":
            self.send(200, "<html><body>Service temporarily unavailable</body></html>", "text/html")
        elif fault == "empty":
            self.send(200, b"")
        elif fault == "null_data":
            self.send(200, {"data": None})
        elif fault == "block":
            self.send(200, BLOCK_PAGE.read_text(encoding="utf-8"), "text/html")
        elif fault == "expire_session":
            with self.site.lock:
                self.site.coles_tokens.clear()
            self.send(200, BLOCK_PAGE.read_text(encoding="utf-8"), "text/html")
        else:
            return False  # not a fault of this response: served normally
        return True

    # --- routes -------------------------------------------------------------------------------

    def route(self, request: LoggedRequest):
        path = request.path
        if path.startswith("/tables/"):
            return self.tables(request)
        host_chain = self.server.chain_of(path, request)
        handler = getattr(self, f"route_{host_chain}", None)
        if handler is None:
            return self.send(404, {"error": "no route"})
        return handler(request)

    def tables(self, request: LoggedRequest):
        if request.headers.get("x-grocer-token") != self.site.tables_token:
            return self.send(403, "bad token", "text/plain")
        name = request.path.rsplit("/", 1)[-1]
        bodies = self.site.tables.get(name)
        if not bodies:
            return self.send(404, "no such table", "text/plain")
        body = bodies.pop(0) if len(bodies) > 1 else bodies[0]
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        etag = '"' + hashlib.md5(data).hexdigest() + '"'
        if request.headers.get("if-none-match") == etag:
            return self.send(304, b"", headers={"ETag": etag})
        return self.send(200, data, headers={"ETag": etag})

    # Aldi ---------------------------------------------------------------------------------------

    def route_aldi(self, request: LoggedRequest):
        query = {key: values[0] for key, values in request.query.items()}
        if request.path == "/v2/product-category-tree":
            if query.get("serviceType") != "walk-in" or not query.get("servicePoint"):
                return self.send(400, {"error": "bad request"})
            return self.send(200, self.site.trees["aldi"])
        if request.path == "/v3/product-search":
            expected = {"currency", "serviceType", "categoryKey", "limit", "offset", "sort",
                        "testVariant", "servicePoint"}
            if set(query) != expected:
                return self.send(400, {"error": f"parameters {sorted(query)}"})
            products = self.site.products("aldi", query["categoryKey"], query["servicePoint"])
            offset, limit = int(query["offset"]), int(query["limit"])
            if offset >= max(len(products), 1):
                return self.send(400, {"error": "offset out of range"})
            total = self.site.reported_totals.get(("aldi", query["categoryKey"]), len(products))
            return self.send(200, {"meta": {"pagination": {"offset": offset, "limit": limit,
                                                          "totalCount": total}},
                                   "data": products[offset:offset + limit]})
        return self.send(404, {"error": "not found"})

    # Woolworths ---------------------------------------------------------------------------------

    def route_woolworths(self, request: LoggedRequest):
        if request.path == "/":
            return self.send(200, "<html><body>Woolworths</body></html>", "text/html",
                             headers={"Set-Cookie": f"{WOOLWORTHS_SESSION_COOKIE}=warm; Path=/"})
        if WOOLWORTHS_SESSION_COOKIE not in request.cookies:
            return self.send(403, "<html>Access Denied</html>", "text/html")
        if request.path == "/apis/ui/PiesCategoriesWithSpecials":
            return self.send(200, self.site.trees["woolworths"])
        if request.path == "/apis/ui/Fulfilment" and request.method == "POST":
            status = self.site.woolworths_store_choice_status
            if status != 200:
                return self.send(status, {"Message": "Authorization has been denied"})
            store = str(json.loads(request.body)["fulfilmentStoreId"])
            return self.send(200, {"IsSuccessful": True}, headers={
                "Set-Cookie": f"{WOOLWORTHS_STORE_COOKIE}={store}; Path=/"})
        if request.path == "/apis/ui/browse/category" and request.method == "POST":
            body = json.loads(request.body)
            # Like the real API: the body's storeId changes nothing; the session's store does.
            store = request.cookies.get(WOOLWORTHS_STORE_COOKIE, WOOLWORTHS_DEFAULT_STORE)
            page, size = body["pageNumber"], body["pageSize"]
            products = self.site.products("woolworths", body["categoryId"], store)
            reported = self.site.drift.get(("woolworths", store), store)
            for product in products:
                product["FulfilmentStoreId"] = int(reported)
            chunk = products[(page - 1) * size:page * size]
            return self.send(200, {"Bundles": [{"Products": [p], "Name": p.get("Name")}
                                               for p in chunk],
                                   "TotalRecordCount": len(products), "Success": True})
        return self.send(404, {"error": "not found"})

    # Coles --------------------------------------------------------------------------------------

    def route_coles(self, request: LoggedRequest):
        refusal = self.coles_refusal(request)
        if refusal is not None:
            return self.send(200, refusal, "text/html")
        store = request.cookies.get("fulfillmentStoreId", "")
        path = request.path
        if path != "/" and (request.cookies.get("shopping-method") != "clickAndCollect"
                            or not store):
            return self.send(400, {"error": "no store chosen"})
        build = self.site.coles_build_id
        if path == "/":
            rotated = self.site.coles_rotated_cookie
            return self.send(200, self.next_page_html("/", {"initStoreId": store}), "text/html",
                             headers={"Set-Cookie": f"reese84={rotated}; Path=/"} if rotated
                             else None)
        if path == "/browse":
            return self.send(200, self.next_page_html("/browse", self.coles_tree()), "text/html")
        if path == f"/_next/data/{build}/en/browse.json":
            return self.send(200, {"pageProps": self.coles_tree(), "__N_SSP": True})
        if path.startswith(f"/_next/data/{build}/en/browse/") and path.endswith(".json"):
            slug = path[len(f"/_next/data/{build}/en/browse/"):-len(".json")]
            return self.send(200, {"pageProps": self.coles_browse(slug, request, store),
                                   "__N_SSP": True})
        if path.startswith("/_next/data/"):
            return self.send(404, {"notFound": True})
        if path.startswith("/browse/"):
            props = self.coles_browse(path[len("/browse/"):], request, store)
            return self.send(200, self.next_page_html("/browse/[...slug]", props), "text/html")
        if path.startswith("/product/"):
            return self.coles_product(path)
        return self.send(404, self.next_page_html("/_error", {"statusCode": 404}), "text/html")

    def coles_refusal(self, request: LoggedRequest) -> str | None:
        """The bot protection's page for this request, or None to serve it."""
        block = BLOCK_PAGE.read_text(encoding="utf-8")
        site = self.site
        if not site.coles_challenge:
            required = site.coles_required_cookie
            return block if required and required not in request.cookies else None
        if site.coles_blocks_plain_requests and "sec-fetch-mode" not in request.headers:
            return block
        with site.lock:
            if request.cookies.get("reese84") in site.coles_tokens:
                return None
            if request.path != "/":
                return block
            nonce = secrets.token_hex(8)
            site.coles_tokens.add(challenge_token(nonce))
        return CHALLENGE_PAGE % nonce

    def coles_tree(self) -> dict:
        return self.site.trees["coles"]["pageProps"]

    def coles_browse(self, slug: str, request: LoggedRequest, store: str) -> dict:
        page = int(request.query.get("page", ["1"])[0])
        products = self.site.products("coles", slug, store)
        total = sum(1 for p in products if isinstance(p, dict) and p.get("_type") == "PRODUCT")
        # Like the real site, a page holds pageSize products plus any ad tiles among them.
        pages, current = [], []
        for product in products:
            current.append(product)
            if sum(1 for p in current if p.get("_type") == "PRODUCT") == COLES_PAGE_SIZE:
                pages.append(current)
                current = []
        if current:
            pages.append(current)
        results = pages[page - 1] if 0 < page <= len(pages) else []
        reported = self.site.drift.get(("coles", store), store)
        return {"initStoreId": str(reported).zfill(4),
                "searchResults": {"noOfResults": total, "start": page - 1,
                                  "pageSize": COLES_PAGE_SIZE, "results": results,
                                  "pages": math.ceil(total / COLES_PAGE_SIZE)}}

    def next_page_html(self, page: str, page_props: dict) -> str:
        data = {"props": {"pageProps": page_props, "__N_SSP": True}, "page": page, "query": {},
                "buildId": self.site.coles_build_id, "isFallback": False, "gssp": True}
        return ("<!DOCTYPE html><html><head><title>Coles</title></head><body><div id=\"__next\">"
                "</div><script id=\"__NEXT_DATA__\" type=\"application/json\">"
                f"{json.dumps(data)}</script></body></html>")

    def coles_product(self, path: str):
        product_id = path.rsplit("-", 1)[-1]
        page = self.site.coles_product_pages.get(product_id)
        if page is None:
            return self.send(404, self.next_page_html("/_error", {"statusCode": 404}),
                             "text/html")
        ld = {"@context": "https://schema.org", "@type": "Product", "sku": int(product_id),
              "name": f"Product {product_id}"}
        if page.get("ldjson_gtin"):
            ld["gtin"] = page["ldjson_gtin"]
        props = {"product": {"id": int(product_id), "gtin": page.get("next_data_gtin")}}
        html = self.next_page_html("/product/[slug]", props).replace(
            "</head>", f'<script type="application/ld+json">{json.dumps(ld)}</script></head>')
        return self.send(200, html, "text/html")

    # IGA ----------------------------------------------------------------------------------------

    def route_iga(self, request: LoggedRequest):
        if request.path == "/":
            return self.send(200, "<html><body>IGA Shop</body></html>", "text/html")
        parts = request.path.strip("/").split("/")
        if parts[:3] != ["api", "storefront", "stores"] or len(parts) < 5:
            return self.send(404, {"error": "not found"})
        store = parts[3]
        if request.cookies.get("iga-shop.retailerStoreId") != store or not request.headers.get(
                "x-shopping-mode"):
            return self.send(400, {"error": "store cookie or shopping mode missing"})
        if parts[4] == "categoryHierarchy":
            return self.send(200, self.site.trees["iga"])
        if parts[4] == "categories" and len(parts) == 7 and parts[6] == "search":
            query = {key: values[0] for key, values in request.query.items()}
            if not query.get("sessionId"):
                return self.send(400, {"error": "no session"})
            products = self.site.products("iga", parts[5], store)
            if not products:
                return self.send(404, {"error": "category not found"})
            skip, take = int(query["skip"]), int(query["take"])
            chunk = products[skip:skip + take]
            return self.send(200, {"items": chunk, "count": len(chunk), "total": len(products)})
        return self.send(404, {"error": "not found"})


class FixtureServer(ThreadingHTTPServer):
    daemon_threads = True
    handler_class = Handler

    def __init__(self, site: FixtureSite):
        super().__init__(("127.0.0.1", 0), self.handler_class)
        self.site = site
        self.chain = None  # set by serve(): which chain this server plays

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def chain_of(self, path: str, request) -> str | None:
        return self.chain


@contextmanager
def running_site(site_class=FixtureSite, server_class=None, hosts=HOSTS):
    """A fresh FixtureSite from the fixture files, served; `site.urls` names each server."""
    site = site_class.from_fixtures()
    with serve(site, server_class or FixtureServer, hosts) as urls:
        site.urls = urls
        yield site


@contextmanager
def serve(site: FixtureSite, server_class=FixtureServer, hosts=HOSTS):
    """One server per chain (each chain is its own host), plus their URLs:
    {"aldi": url, "coles": url, "woolworths": url, "iga": url, "tables": url}."""
    servers = {}
    try:
        for chain in hosts:
            server = server_class(site)
            server.chain = chain
            threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                             daemon=True).start()
            servers[chain] = server
        yield {chain: server.url for chain, server in servers.items()}
    finally:
        for server in servers.values():
            server.shutdown()
            server.server_close()
