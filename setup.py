from setuptools import find_namespace_packages, setup

setup(
    name="grocer",
    version="0.1.0",
    description="Crawls Australian supermarket chains store by store into one de-duplicated "
    "product catalogue with per-store prices.",
    # Namespace packages: the template and static folders are packages of data, not code.
    packages=find_namespace_packages(include=["grocer", "grocer.*"], exclude=["*.__pycache__"]),
    package_data={"grocer": ["db/migrations/*.py", "db/migrations/versions/*.py", "py.typed",
                             "web/templates/*.html", "web/static/*"]},
    include_package_data=True,
    zip_safe=True,
    python_requires=">=3.11",
    install_requires=[
        # The release the suite passes on: under 2.18 a start error exits 0, and up to 2.18 the
        # stats dump ignores the collector's own formatting (tests/commands/test_crawl.py).
        "scrapy>=2.19",
        "itemadapter>=0.8",
        "PyDispatcher>=2.0.5",  # Scrapy's signal dispatcher: the ingest reads its receivers
        "sqlalchemy>=2.0",
        "pymysql>=1.1",
        "rapidfuzz>=3.0",
        "alembic>=1.13",
        "tzdata",
        "starlette>=0.40",
        "jinja2>=3.1",
        "uvicorn>=0.30",
    ],
    extras_require={
        "test": ["pytest>=8", "ruff>=0.6", "scrapyd>=1.5", "scrapyd-client>=2.0",
                 # Starlette's TestClient drives the web app with httpx2 since 1.2 (httpx is
                 # deprecated there: a warning on every run).
                 "starlette>=1.2", "httpx2>=2.0",
                 "playwright>=1.45"],
        "deploy": ["scrapyd>=1.5", "scrapyd-client>=2.0"],
        # COLES_SESSION=browser: a headless Chromium passes the Coles bot protection's challenge.
        "browser": ["playwright>=1.45"],
    },
    entry_points={"scrapy": ["settings = grocer.settings"]},
)
