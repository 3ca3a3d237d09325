"""Price zones (issue 18), pure logic: which categories a night's basket check fetches
(`basket`) and which zone a store's basket puts it in (`discovery`). No SQL, no Scrapy: the
spiders feed baskets in, grocer.db.zones stores the decisions."""
