"""Reading store lists: SplitCart's Django dumpdata and grocer's own JSON/CSV form."""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path

from grocer.chains import CHAINS

SIMPLE_COLUMNS = (
    "company", "store_code", "name", "division", "site_store_id",
    "state", "postcode", "latitude", "longitude", "address", "suburb",
)


@dataclass
class StoreRow:
    company: str  # Company.name ("Aldi", "Coles", ...)
    store_code: str
    name: str | None = None
    division: str | None = None
    site_store_id: str | None = None
    state: str | None = None
    postcode: str | None = None
    latitude: str | None = None
    longitude: str | None = None
    address: str | None = None
    suburb: str | None = None


@dataclass
class StoreList:
    rows: list[StoreRow] = field(default_factory=list)
    companies: dict[str, str | None] = field(default_factory=dict)  # name → image template
    errors: list[str] = field(default_factory=list)  # "row 12: no store code"


def company_display_name(value: str) -> str:
    """'coles', 'COLES' and 'Coles' name one company; unknown chains keep their spelling."""
    text = str(value).strip()
    chain = CHAINS.get(text.lower())
    return chain.name if chain else text


def _text(value) -> str | None:
    if value is None:
        return None
    return str(value).strip("\r\n") if isinstance(value, str) else str(value)


def read_store_list(path: str | Path) -> StoreList:
    """Read a store list file; bad rows are reported in `errors` and left out."""
    path = Path(path)
    if path.suffix.lower() == ".csv":
        with path.open(newline="", encoding="utf-8-sig") as handle:
            result = _from_simple(list(csv.DictReader(handle)), first_row=2)
    elif path.suffix.lower() in (".jsonl", ".ndjson"):
        # One store per line: the feed of a store-locator spider (`-O stores.jsonl`).
        lines = path.read_text(encoding="utf-8").splitlines()
        result = _from_simple([_json_or_none(line) for line in lines if line.strip()],
                              first_row=1)
    else:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, list):
            raise ValueError(f"{path}: expected a JSON list of stores")
        if data and isinstance(data[0], dict) and "model" in data[0] and "fields" in data[0]:
            result = _from_dumpdata(path, data)
        else:
            result = _from_simple(data, first_row=1)
    for row in result.rows:
        if row.site_store_id is None and row.company == "Coles" and ":" in row.store_code:
            # Coles' site wants the number of COL:401.
            row.site_store_id = row.store_code.rsplit(":", 1)[1]
    return result


def _json_or_none(line: str):
    try:
        return json.loads(line)
    except ValueError:
        return None  # reported as "not an object"


def _from_simple(records: list, first_row: int) -> StoreList:
    result = StoreList()
    for position, record in enumerate(records, start=first_row):
        if not isinstance(record, dict):
            result.errors.append(f"row {position}: not an object")
            continue
        company = _text(record.get("company"))
        code = _text(record.get("store_code"))
        if not company or not company.strip():
            result.errors.append(f"row {position}: no company")
            continue
        if not code or not code.strip():
            result.errors.append(f"row {position}: no store code")
            continue
        name = company_display_name(company)
        result.companies.setdefault(name, None)
        # Names and states are kept exactly as given ('' included); other empty cells are
        # simply absent.
        values = {column: _text(record.get(column)) for column in SIMPLE_COLUMNS[2:]}
        values.update({column: values[column] or None for column in values
                       if column not in ("name", "state")})
        result.rows.append(StoreRow(company=name, store_code=code.strip(), **values))
    return result


def _sibling(path: Path, kind: str) -> Path | None:
    """companies-2025-09-28.json beside stores-2025-09-28.json."""
    if "stores" not in path.name:
        return None
    candidate = path.with_name(path.name.replace("stores", kind, 1))
    return candidate if candidate.exists() else None


def _from_dumpdata(path: Path, records: list) -> StoreList:
    result = StoreList()
    companies: dict[int, str] = {}
    divisions: dict[int, str] = {}
    companies_file = _sibling(path, "companies")
    if companies_file:
        for record in json.loads(companies_file.read_text(encoding="utf-8")):
            fields = record["fields"]
            companies[record["pk"]] = fields["name"]
            result.companies[fields["name"]] = fields.get("image_url_template")
    divisions_file = _sibling(path, "divisions")
    if divisions_file:
        for record in json.loads(divisions_file.read_text(encoding="utf-8")):
            divisions[record["pk"]] = record["fields"]["name"]
    for position, record in enumerate(records, start=1):
        fields = record.get("fields") if isinstance(record, dict) else None
        if not isinstance(fields, dict):
            result.errors.append(f"record {position}: no fields")
            continue
        company_pk = fields.get("company")
        company = companies.get(company_pk) if isinstance(company_pk, int) else _text(company_pk)
        code = _text(fields.get("store_id"))
        if not company:
            result.errors.append(f"record {position}: no company (company={company_pk!r})")
            continue
        if not code or not code.strip():
            result.errors.append(f"record {position}: no store code")
            continue
        result.companies.setdefault(company, None)
        result.rows.append(StoreRow(
            company=company,
            store_code=code.strip(),
            name=_text(fields.get("store_name")),
            division=divisions.get(fields.get("division")),
            site_store_id=_text(fields.get("retailer_store_id")),
            state=_text(fields.get("state")),
            postcode=_text(fields.get("postcode")),
            latitude=_text(fields.get("latitude")),
            longitude=_text(fields.get("longitude")),
            address=_text(fields.get("address_line_1")),
            suburb=_text(fields.get("suburb")),
        ))
    return result
