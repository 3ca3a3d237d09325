"""PriceWriter: a re-crawl writes only what changed; one deterministic price per product and
store when a store lists a product several times (issues 21 and 14)."""

from __future__ import annotations

import datetime as dt
import itertools
import random
from decimal import Decimal

import pytest
from sqlalchemy import event, func, select

from grocer.db import exports, storecrawls
from grocer.db.delisting import CompletedStore, delist_unseen
from grocer.db.models import Price, PriceHistory, StoreCrawl
from grocer.db.prices import PriceWriter
from tests.helpers.prices import T0, crawl, row
from tests.reconcile.helpers import Rows

UTC = dt.timezone.utc
T1 = T0 + dt.timedelta(days=1)
T2 = T0 + dt.timedelta(days=2)


@pytest.fixture
def shop(engine):
    rows = Rows(engine)
    company = rows.company("woolworths")
    stores = [rows.store(company, code) for code in ("1147", "1148")]
    products = [rows.product(f"product {n}") for n in range(40)]
    return stores, products


class PriceWrites:
    """Counts the rows each statement sends to the price tables (executemany included)."""

    def __init__(self, engine):
        self.engine = engine
        self.rows = 0

    def __enter__(self):
        event.listen(self.engine, "before_cursor_execute", self.count)
        return self

    def __exit__(self, *exc):
        event.remove(self.engine, "before_cursor_execute", self.count)

    def count(self, conn, cursor, statement, parameters, context, executemany):
        words = statement.split()
        verb = words[0].upper()
        target = words[2] if verb == "INSERT" else words[1]
        if verb in ("INSERT", "UPDATE") and target.strip('`"') in ("price", "price_history"):
            self.rows += len(parameters) if executemany else 1


def counts(engine):
    with engine.connect() as connection:
        return tuple(connection.scalar(select(func.count()).select_from(model))
                     for model in (Price, PriceHistory, StoreCrawl))


def test_a_recrawl_writes_only_the_changed_prices_and_one_row_per_store(engine, shop):
    stores, products = shop
    crawl(engine, [[row(p, s, "2.00") for p in products[:20]] for s in stores])
    with engine.connect() as connection:
        before = {r.id: tuple(r) for r in connection.execute(select(Price))}
    changed = set(products[:4])
    with PriceWrites(engine) as writes:
        crawl(engine, [[row(p, s, "2.50" if p in changed else "2.00", at=T1)
                        for p in products[:20]] for s in stores])
    # 4 changed prices × 2 stores, each an upsert and a history row; nothing for the 32 others
    assert writes.rows == 4 * 2 * 2
    assert counts(engine) == (40, 40 + 8, 4)  # one store_crawl row per store per crawl
    with engine.connect() as connection:
        after = {r.id: tuple(r) for r in connection.execute(select(Price))}
        unchanged = [pid for pid, values in before.items() if after[pid] == values]
        assert len(unchanged) == 32
        # …yet every price is known to have been seen on the second day
        assert set(storecrawls.price_last_seen(connection, stores[0], products[:20])
                   .values()) == {T1}


def freshness_of_every_price(engine, on_statement) -> dict:
    """storecrawls.prices_last_seen of every price row; `on_statement` gets each statement it
    sends."""
    def record(conn, cursor, statement, *args):
        on_statement(statement)

    with engine.connect() as connection:
        prices = connection.execute(select(Price.store_id, Price.product_id, Price.last_seen,
                                           Price.delisted_at)).all()
        event.listen(engine, "before_cursor_execute", record)
        try:
            return storecrawls.prices_last_seen(connection, prices)
        finally:
            event.remove(engine, "before_cursor_execute", record)


def test_the_freshness_of_prices_at_many_stores_reads_their_frames_at_once(engine, shop):
    """A page of prices over many stores (the product page) reads the frames of all its stores
    in one statement; a sighting counts only for its own store."""
    stores, products = shop
    crawl(engine, [[row(p, s, "1.00") for p in products[:2] for s in stores]])
    crawl(engine, [[row(products[0], stores[0], "1.00", at=T1),  # unchanged: a frame
                    row(products[1], stores[1], "1.50", at=T2)]])  # changed: its row
    statements = []
    seen = freshness_of_every_price(engine, statements.append)
    assert seen == {(stores[0], products[0]): T1, (stores[0], products[1]): T0,
                    (stores[1], products[0]): T0, (stores[1], products[1]): T2}
    assert len([s for s in statements if "store_crawl" in s]) == 1


def test_the_frames_of_many_stores_are_folded_chunk_by_chunk(engine, shop, monkeypatch):
    """A product page over every store of the country holds one chunk of stores' frames at a
    time (tens of kilobytes a store), never all of them: each chunk is folded before the next
    is read. Before, every store's frames were read first and folded at the end."""
    stores, products = shop
    crawl(engine, [[row(p, s, "1.00") for p in products[:2] for s in stores]])
    crawl(engine, [[row(p, s, "1.00", at=T1) for p in products[:2] for s in stores]])
    events = []
    fold = storecrawls._newest
    monkeypatch.setattr(storecrawls, "FRAME_READ_STORES", 1)
    monkeypatch.setattr(storecrawls, "_newest",
                        lambda *args, **kwargs: (events.append("fold"), fold(*args, **kwargs)))
    seen = freshness_of_every_price(
        engine, lambda statement: "store_crawl" in statement and events.append("read"))
    assert events == ["read", "fold", "read", "fold"]
    assert seen == {(s, p): T1 for s in stores for p in products[:2]}


def test_the_sightings_of_a_few_products_are_those_of_every_frame_decoded(engine, shop):
    """Looking for a few products reads the frames newest first and each only partly: the
    answer is still every product's newest sighting, over frames out of time order, crawls
    overlapping, ids needing one to three varint bytes."""
    (store, _), _ = shop
    rng = random.Random(7)
    frames = [[storecrawls.encode_frame(T0 + dt.timedelta(minutes=rng.randrange(600)),
                                        rng.sample(range(1, 5 * 10 ** 5), 300))
               for _ in range(6)] for _ in range(2)]
    with engine.begin() as connection:
        for crawl_frames in frames:
            connection.execute(StoreCrawl.__table__.insert().values(
                store_id=store, started_at=T0, seen_at=T0 + dt.timedelta(hours=10),
                products=300 * 6, seen=b"".join(crawl_frames)))
        every = storecrawls.sightings(connection, store)
        wanted = rng.sample(sorted(every), 40) + [10 ** 6]  # and one no frame names
        assert storecrawls.sightings(connection, store, product_ids=wanted) == {
            product_id: every[product_id] for product_id in wanted if product_id in every}
        since = T0 + dt.timedelta(minutes=300)
        recent = storecrawls.sightings(connection, store, since=since)
        assert storecrawls.sightings(connection, store, product_ids=wanted, since=since) == {
            product_id: recent[product_id] for product_id in wanted if product_id in recent}


def test_delisting_works_from_the_sightings_and_keeps_freshness(engine, shop):
    (store, _), products = shop
    crawl(engine, [[row(p, store, "1.00") for p in products[:3]]])
    crawl(engine, [[row(p, store, "1.00", at=T1) for p in products[:2]]])  # 3rd gone
    assert delist_unseen(engine, "woolworths", [CompletedStore("1147", T1)]) == {"1147": 1}
    with engine.connect() as connection:
        listed = dict(connection.execute(select(Price.product_id, Price.delisted_at)).all())
        assert [listed[p] is not None for p in products[:3]] == [False, False, True]
        assert storecrawls.price_last_seen(connection, store, products[:3]) == {
            products[0]: T1, products[1]: T1, products[2]: T0}
        # the first crawl's bookkeeping is superseded by the complete one and dropped
        assert connection.scalar(select(func.count()).select_from(StoreCrawl)) == 1
    exported = {r["product_id"]: r["last_seen"] for r in exports.iter_prices(engine)}
    assert exported == {products[0]: T1, products[1]: T1, products[2]: T0}
    assert delist_unseen(engine, "woolworths", [CompletedStore("1147", T1)]) == {"1147": 0}


def test_a_delisted_price_seen_again_is_listed_again(engine, shop):
    (store, _), products = shop
    crawl(engine, [[row(products[0], store, "1.00")]])
    crawl(engine, [[row(products[1], store, "1.00", at=T1)]])
    delist_unseen(engine, "woolworths", [CompletedStore("1147", T1)])
    crawl(engine, [[row(products[0], store, "1.00", at=T2)]])
    with engine.connect() as connection:
        price = connection.execute(select(Price).where(Price.product_id == products[0])).one()
    assert (price.delisted_at, price.is_available, price.last_seen) == (None, True, T2)


def test_an_archive_replayed_after_an_unchanged_sighting_is_older(engine, shop):
    (store, _), products = shop
    crawl(engine, [[row(products[0], store, "1.00", at=T0)]])
    crawl(engine, [[row(products[0], store, "1.00", at=T2)]])  # seen, not written
    writer = crawl(engine, [[row(products[0], store, "3.00", at=T1)]])
    assert writer is not None
    with engine.connect() as connection:
        assert connection.scalar(select(Price.price)) == Decimal("1.00")
        assert connection.scalar(select(func.count()).select_from(PriceHistory)) == 1


# --- one price per product and store ---------------------------------------------------------

LISTINGS = [("b", "2.50"), ("a", "3.00"), ("c", "2.50"), ("a", "3.00")]


def listings(store, product, at, order, batch_size):
    rows = [row(product, store, price, sku=sku, at=at) for sku, price in order]
    return [rows[i:i + batch_size] for i in range(0, len(rows), batch_size)]


@pytest.mark.parametrize("batch_size", [1, 2, 4])
def test_two_identical_crawls_end_with_the_same_price_and_no_new_history(engine, shop,
                                                                         batch_size):
    (store, _), products = shop
    orders = list(itertools.permutations(LISTINGS))[::5]
    finals = []
    for n, order in enumerate(orders):
        product = products[n]
        crawl(engine, listings(store, product, T0, order, batch_size))
        history = counts(engine)[1]
        crawl(engine, listings(store, product, T1, order[::-1], batch_size))
        assert counts(engine)[1] == history  # no history row on the second crawl
        with engine.connect() as connection:
            finals.append(tuple(connection.execute(
                select(Price.price, Price.sku).where(Price.product_id == product)).one()))
            assert connection.scalar(select(func.count()).select_from(PriceHistory).where(
                PriceHistory.product_id == product)) == 1  # one chosen price, one history row
    # lowest price, ties by SKU — whatever the order and the batch size
    assert set(finals) == {(Decimal("2.50"), "b")}


def tally(engine, batches) -> dict[str, int]:
    """What one crawl of `batches` counted, over every write and the finish."""
    writer = PriceWriter(engine)
    results = [result for batch in batches for result in writer.write(batch).values()]
    results += writer.finish().values()
    return {name: sum(getattr(result, name) for result in results)
            for name in ("new", "changed", "unchanged", "duplicate", "history")}


def test_a_product_listed_several_times_counts_once_whatever_the_order_and_batch_size(
        engine, shop):
    """Issue 13: the counts must not depend on the batch size; the extra listings are
    duplicates, never 'unchanged' (batch size 1) or uncounted (a batch that holds them all)."""
    (store, _), products = shop
    first = {"new": 1, "changed": 0, "unchanged": 0, "duplicate": 3, "history": 1}
    again = {"new": 0, "changed": 0, "unchanged": 1, "duplicate": 3, "history": 0}
    for n, order in enumerate(list(itertools.permutations(LISTINGS))[::3]):
        for batch_size in (1, 2, 4):
            product = products[(n * 3 + batch_size) % len(products)]
            with engine.begin() as connection:
                connection.execute(PriceHistory.__table__.delete().where(
                    PriceHistory.product_id == product))
                connection.execute(Price.__table__.delete().where(Price.product_id == product))
            assert tally(engine, listings(store, product, T0, order, batch_size)) == first
            assert tally(engine, listings(store, product, T1, order[::-1], batch_size)) == again


def test_the_chosen_listing_gone_or_dearer_hands_over_to_the_next_lowest(engine, shop):
    (store, _), products = shop
    product = products[0]
    crawl(engine, [[row(product, store, "3.00", sku="a", at=T0)],
                   [row(product, store, "2.50", sku="b", at=T0)]])
    # listing b is gone: a is the price, once the crawl is over
    writer = crawl(engine, [[row(product, store, "3.00", sku="a", at=T1)]], finish=False)
    with engine.connect() as connection:
        assert connection.scalar(select(Price.sku)) == "b"
    writer.finish()
    with engine.connect() as connection:
        assert tuple(connection.execute(select(Price.price, Price.sku)).one()) == (
            Decimal("3.00"), "a")
    # b is back, dearer than a: a stays; then b cheaper again: b
    crawl(engine, [[row(product, store, "3.00", sku="a", at=T2)],
                   [row(product, store, "3.20", sku="b", at=T2)]])
    with engine.connect() as connection:
        assert connection.scalar(select(Price.sku)) == "a"
    crawl(engine, [[row(product, store, "3.00", sku="a", at=T2 + dt.timedelta(days=1))],
                   [row(product, store, "2.00", sku="b", at=T2 + dt.timedelta(days=1))]])
    with engine.connect() as connection:
        assert tuple(connection.execute(select(Price.price, Price.sku)).one()) == (
            Decimal("2.00"), "b")
        assert [tuple(r) for r in connection.execute(
            select(PriceHistory.price).order_by(PriceHistory.id))] == [
            (Decimal("2.50"),), (Decimal("3.00"),), (Decimal("2.00"),)]


def test_a_failed_batch_leaves_the_writer_as_it_was(engine, shop, monkeypatch):
    (store, _), products = shop
    writer = PriceWriter(engine)
    original = PriceWriter._record_sightings

    def fail(self, *args):
        original(self, *args)
        raise RuntimeError("the database went away")

    monkeypatch.setattr(PriceWriter, "_record_sightings", fail)
    with pytest.raises(RuntimeError):
        writer.write([row(products[0], store, "1.00", sku="a")])
    monkeypatch.undo()
    assert counts(engine) == (0, 0, 0)
    writer.write([row(products[0], store, "2.00", sku="b")])
    writer.finish()
    assert counts(engine) == (1, 1, 1)
