"""grocer's data model (DESIGN.md §3), SQLAlchemy 2.0 typed declarative.

Portable across SQLite and MariaDB/MySQL: money is ``Numeric``; lists are ``JSON``; timestamps
are stored as naive UTC and always come back timezone-aware (``UTCDateTime``); identity strings
(keys, SKUs, barcodes) use a binary collation on MySQL so the database compares them exactly as
Python does.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import (
    JSON,
    Boolean,
    LargeBinary,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.dialects import mysql
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from grocer.normalization import limits
from grocer.normalization.dates import utcnow
from grocer.normalization.text import search_words

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def ExactString(length: int):
    """A VARCHAR compared byte for byte (MySQL's default collation folds case and accents)."""
    return String(length).with_variant(
        mysql.VARCHAR(length, charset="utf8mb4", collation="utf8mb4_bin"), "mysql", "mariadb"
    )


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on every backend (SQLite and MySQL keep no zone)."""

    impl = DateTime
    cache_ok = True

    def load_dialect_impl(self, dialect):
        if dialect.name in ("mysql", "mariadb"):
            return dialect.type_descriptor(mysql.DATETIME(fsp=6))
        return dialect.type_descriptor(DateTime())

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: grocer stores timezone-aware UTC only")
        return value.astimezone(dt.timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if isinstance(value, str):  # raw SQL results on SQLite
            value = dt.datetime.fromisoformat(value)
        return value.replace(tzinfo=dt.timezone.utc)


Money = Numeric(limits.MONEY_PRECISION, limits.MONEY_SCALE)
UnitMoney = Numeric(limits.UNIT_MONEY_PRECISION, limits.UNIT_MONEY_SCALE)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Company(Base):
    __tablename__ = "company"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # Display name as in the store list ("Aldi", "Coles", "Iga", "Woolworths").
    name: Mapped[str] = mapped_column(String(100), unique=True)
    # Lower-case name = spider name = `company` on items.
    slug: Mapped[str] = mapped_column(String(100), unique=True)
    image_url_template: Mapped[str | None] = mapped_column(Text)

    divisions: Mapped[list[Division]] = relationship(back_populates="company")
    stores: Mapped[list[Store]] = relationship(back_populates="company")


class Division(Base):
    __tablename__ = "division"
    __table_args__ = (UniqueConstraint("company_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("company.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    external_id: Mapped[str | None] = mapped_column(String(50))

    company: Mapped[Company] = relationship(back_populates="divisions")


class Store(Base):
    __tablename__ = "store"
    __table_args__ = (UniqueConstraint("company_id", "store_code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("company.id", ondelete="CASCADE"))
    division_id: Mapped[int | None] = mapped_column(
        ForeignKey("division.id", ondelete="SET NULL"), index=True
    )
    # The code users know, exactly as in the store list: G102, COL:401, 1147, 19587.
    store_code: Mapped[str] = mapped_column(ExactString(limits.STORE_CODE_LENGTH))
    # The id the chain's site wants (IGA retailer store id, Coles number); None = same as code.
    site_store_id: Mapped[str | None] = mapped_column(String(50))
    name: Mapped[str | None] = mapped_column(String(255))
    address: Mapped[str | None] = mapped_column(String(255))
    suburb: Mapped[str | None] = mapped_column(String(100))
    state: Mapped[str | None] = mapped_column(String(20))
    postcode: Mapped[str | None] = mapped_column(String(10))
    latitude: Mapped[Decimal | None] = mapped_column(Numeric(9, 6))
    longitude: Mapped[Decimal | None] = mapped_column(Numeric(9, 6))
    last_crawled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, index=True)
    # Set when a complete store-locator sweep no longer listed the store; never deleted, so
    # its prices keep their store. Cleared when the store is listed again.
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # Held by a crawl that leased the store (-a stores=lease:N) until it closes or the lease
    # expires (a killed crawl): grocer.db.stores.lease_stores.
    lease_holder: Mapped[str | None] = mapped_column(String(100))
    lease_expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    company: Mapped[Company] = relationship(back_populates="stores")
    division: Mapped[Division | None] = relationship()


class Brand(Base):
    __tablename__ = "brand"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(limits.BRAND_LENGTH))
    normalized_name: Mapped[str] = mapped_column(ExactString(limits.BRAND_LENGTH), unique=True)
    name_variations: Mapped[list] = mapped_column(JSON, default=list)
    normalized_name_variations: Mapped[list] = mapped_column(JSON, default=list)


# SQLite's full-text index of Product.search_text (an FTS5 table and its shadow tables, made by
# migration 0004): not a model, so schema comparisons leave these tables out.
SQLITE_SEARCH_TABLE = "product_search"


def is_search_index_table(name: str) -> bool:
    return name == SQLITE_SEARCH_TABLE or name.startswith(SQLITE_SEARCH_TABLE + "_")


def _search_text_default(context) -> str:
    """A product written without a search text (not through resolution) is found by name."""
    return search_words(context.get_current_parameters().get("name"))


class Product(Base):
    __tablename__ = "product"
    # Search (grocer web): a full-text index on MariaDB/MySQL; on SQLite the migration keeps an
    # FTS5 table (product_search) in step with this column through triggers.
    __table_args__ = (Index("ix_product_search_text", "search_text", mysql_prefix="FULLTEXT"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(limits.NAME_LENGTH), index=True)
    brand_id: Mapped[int | None] = mapped_column(
        ForeignKey("brand.id", ondelete="SET NULL"), index=True
    )
    size: Mapped[str | None] = mapped_column(String(limits.SIZE_LENGTH))
    sizes: Mapped[list] = mapped_column(JSON, default=list)
    normalized_name_brand_size: Mapped[str] = mapped_column(
        ExactString(limits.KEY_LENGTH), unique=True)
    key_version: Mapped[int] = mapped_column(Integer, default=1)
    barcode: Mapped[str | None] = mapped_column(ExactString(limits.BARCODE_LENGTH), unique=True)
    url: Mapped[str | None] = mapped_column(String(limits.URL_LENGTH))
    image_url: Mapped[str | None] = mapped_column(String(limits.URL_LENGTH))
    aldi_image_url: Mapped[str | None] = mapped_column(String(limits.URL_LENGTH))
    has_no_coles_barcode: Mapped[bool] = mapped_column(Boolean, default=False)
    # [[raw brand, company slug], ...]: what each chain calls the product's brand.
    brand_name_company_pairs: Mapped[list] = mapped_column(JSON, default=list)
    # [{"company": slug, "path": [...]}, ...]
    category_paths: Mapped[list] = mapped_column(JSON, default=list)
    # search_words(name, brand): what `grocer web` searches.
    search_text: Mapped[str | None] = mapped_column(String(512), default=_search_text_default)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    brand: Mapped[Brand | None] = relationship()
    # The database cascades deletes (ON DELETE CASCADE); the ORM only mirrors it.
    skus: Mapped[list[Sku]] = relationship(
        back_populates="product", cascade="all, delete-orphan", passive_deletes=True)
    key_variations: Mapped[list[ProductKeyVariation]] = relationship(
        back_populates="product", cascade="all, delete-orphan", passive_deletes=True)
    prices: Mapped[list[Price]] = relationship(
        back_populates="product", cascade="all, delete-orphan", passive_deletes=True)


class ProductKeyVariation(Base):
    """A key that is known to mean `product` (learned from barcode/SKU matches and merges)."""

    __tablename__ = "product_key_variation"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(ExactString(limits.KEY_LENGTH), unique=True)
    product_id: Mapped[int] = mapped_column(
        ForeignKey("product.id", ondelete="CASCADE"), index=True
    )

    product: Mapped[Product] = relationship(back_populates="key_variations")


class Sku(Base):
    __tablename__ = "sku"
    __table_args__ = (UniqueConstraint("company_id", "sku"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("company.id", ondelete="CASCADE"))
    sku: Mapped[str] = mapped_column(ExactString(limits.SKU_LENGTH))
    product_id: Mapped[int] = mapped_column(
        ForeignKey("product.id", ondelete="CASCADE"), index=True
    )

    company: Mapped[Company] = relationship()
    product: Mapped[Product] = relationship(back_populates="skus")


class _PriceColumns:
    price: Mapped[Decimal] = mapped_column(Money)
    was_price: Mapped[Decimal | None] = mapped_column(Money)
    unit_price: Mapped[Decimal | None] = mapped_column(UnitMoney)
    unit_of_measure: Mapped[str | None] = mapped_column(String(limits.UNIT_OF_MEASURE_LENGTH))
    per_unit_price_string: Mapped[str | None] = mapped_column(
        String(limits.PER_UNIT_PRICE_STRING_LENGTH))
    is_on_special: Mapped[bool] = mapped_column(Boolean, default=False)
    is_available: Mapped[bool | None] = mapped_column(Boolean)
    price_hash: Mapped[str] = mapped_column(String(64))
    scraped_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    # The date in Australia/Sydney of scraped_at.
    scraped_date: Mapped[dt.date] = mapped_column(Date, index=True)


class Price(_PriceColumns, Base):
    """The current price of a product at a store: one row per (product, store)."""

    __tablename__ = "price"
    __table_args__ = (
        UniqueConstraint("product_id", "store_id"),
        Index("ix_price_store_id_product_id", "store_id", "product_id"),
        # Delisting: a store's prices not seen since its crawl started (a range scan).
        Index("ix_price_store_id_last_seen", "store_id", "last_seen"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id", ondelete="CASCADE"))
    store_id: Mapped[int] = mapped_column(ForeignKey("store.id", ondelete="CASCADE"))
    # When this row was last written (new, changed, listed again, delisted). A crawl that sees
    # the price unchanged writes nothing here: it records the sighting in its StoreCrawl row, and
    # the freshness of the price is the later of the two (grocer.db.storecrawls.last_seen).
    last_seen: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    # The listing (SKU) whose price this is, when a store lists a product more than once.
    sku: Mapped[str | None] = mapped_column(ExactString(100))
    # Set when a complete crawl of the store no longer lists the product; cleared when seen.
    delisted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    product: Mapped[Product] = relationship(back_populates="prices")
    store: Mapped[Store] = relationship()


class PriceHistory(_PriceColumns, Base):
    """Append-only: one row per observed change of a (product, store) price."""

    __tablename__ = "price_history"
    __table_args__ = (
        Index("ix_price_history_product_store_time", "product_id", "store_id", "scraped_at"),
        # Price changes (grocer web's /changes): a window's rows counted and ordered from the
        # index alone, however the rows lie in the table.
        Index("ix_price_history_changes", "scraped_date", "scraped_at", "store_id",
              "previous_price", "price"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id", ondelete="CASCADE"))
    store_id: Mapped[int] = mapped_column(
        ForeignKey("store.id", ondelete="CASCADE"), index=True
    )
    # The store's price before this row (None: the product's first price there), so that
    # price changes (grocer web's /changes) are one range scan, not a look-up per row.
    previous_price: Mapped[Decimal | None] = mapped_column(Money)


class StoreCrawl(Base):
    """What one crawl (one PriceWriter) saw at one store: O(stores) bookkeeping instead of a
    `last_seen` rewrite of every unchanged price (see grocer.db.storecrawls)."""

    __tablename__ = "store_crawl"
    __table_args__ = (Index("ix_store_crawl_store_id_seen_at", "store_id", "seen_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("store.id", ondelete="CASCADE"))
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)  # first sighting (scraped_at)
    seen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)  # last sighting (scraped_at)
    products: Mapped[int] = mapped_column(Integer, default=0)  # sightings recorded in `seen`
    # Frames of (sighting time, product ids), one per batch: grocer.db.storecrawls encodes them.
    seen: Mapped[bytes] = mapped_column(
        LargeBinary().with_variant(mysql.LONGBLOB(), "mysql", "mariadb"))


class CrawlRun(Base):
    __tablename__ = "crawl_run"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    spider: Mapped[str] = mapped_column(String(50), index=True)
    stores: Mapped[list] = mapped_column(JSON, default=list)
    stores_completed: Mapped[list] = mapped_column(JSON, default=list)
    started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, index=True)
    close_reason: Mapped[str | None] = mapped_column(String(100))
    reconciled: Mapped[bool] = mapped_column(Boolean, default=False)
    # Per-store counters: {store_code: {"scraped": n, "dropped": n, "written": n, ...}}
    store_stats: Mapped[dict] = mapped_column(JSON, default=dict)
    stats: Mapped[dict] = mapped_column(JSON, default=dict)


class PriceZone(Base):
    """Stores of a chain that charge the same prices (grocer.zones): the representative is
    crawled fully, the other members read its prices (grocer.db.zones.effective_prices)."""

    __tablename__ = "price_zone"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    company_id: Mapped[int] = mapped_column(
        ForeignKey("company.id", ondelete="CASCADE"), index=True)
    representative_store_id: Mapped[int | None] = mapped_column(
        ForeignKey("store.id", ondelete="SET NULL"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The last basket check that confirmed the zone, and the basket's category slugs.
    verified_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    basket: Mapped[list] = mapped_column(JSON, default=list)

    representative: Mapped[Store | None] = relationship()


class PriceZoneMember(Base):
    """store → zone (one zone per store, the representative included). A member's own Price
    rows are its overrides: products whose basket price differed from the representative's."""

    __tablename__ = "price_zone_member"

    store_id: Mapped[int] = mapped_column(
        ForeignKey("store.id", ondelete="CASCADE"), primary_key=True)
    zone_id: Mapped[int] = mapped_column(
        ForeignKey("price_zone.id", ondelete="CASCADE"), index=True)
    joined_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    verified_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    basket: Mapped[list] = mapped_column(JSON, default=list)
    # The last decision about the store: action, compared zones, the products that differed.
    decision: Mapped[dict] = mapped_column(JSON, default=dict)

    zone: Mapped[PriceZone] = relationship()
    store: Mapped[Store] = relationship()
