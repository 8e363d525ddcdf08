"""The 区 → 街镇 → 村居 tree: import from CSV, look up by code, walk a subtree."""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from errors import REGION_CODE_INVALID, REGION_IMPORT_INVALID, REGION_NOT_FOUND, DomainError
from volunteer.db import write_transaction
from volunteer.tables import Region, RegionLevel

# Official codes: 6 digits for a 区/县, 9 for a 街道/乡镇, 12 for a 居委/村委.
LEVEL_BY_LENGTH = {6: RegionLevel.district, 9: RegionLevel.street, 12: RegionLevel.community}
PARENT_LENGTH = {9: 6, 12: 9}


@dataclass(frozen=True, slots=True)
class RegionRow:
    code: str
    name: str


def level_of(code: str) -> RegionLevel:
    if not code.isdigit() or len(code) not in LEVEL_BY_LENGTH:
        raise DomainError(REGION_CODE_INVALID, {"code": code})
    return LEVEL_BY_LENGTH[len(code)]


def read_csv(path: Path) -> list[RegionRow]:
    """Rows of code,name (a header line is allowed); parents are implied by the code itself."""
    rows: list[RegionRow] = []
    with path.open(newline="", encoding="utf-8-sig") as f:
        for line_no, record in enumerate(csv.reader(f), start=1):
            if not record or (line_no == 1 and record[0].strip().lower() == "code"):
                continue
            if len(record) < 2 or not record[1].strip():
                raise DomainError(REGION_IMPORT_INVALID, {"line": line_no})
            code = record[0].strip()
            try:
                level_of(code)
            except DomainError as exc:
                raise DomainError(REGION_IMPORT_INVALID, {"line": line_no, "code": code}) from exc
            rows.append(RegionRow(code, record[1].strip()))
    return rows


async def import_regions(
    rows: Iterable[RegionRow], progress: Callable[[int], None] = lambda n: None, batch: int = 500
) -> int:
    """Upsert by code, parents before children; importing the same file again changes nothing."""
    ordered = sorted(rows, key=lambda r: len(r.code))
    known = {
        r["code"]: (r["id"], r["path"]) for r in await Region.select(Region.id, Region.code, Region.path)
    }
    written = 0
    for chunk in _chunks(ordered, batch):
        async with write_transaction():
            for row in chunk:
                level = level_of(row.code)
                parent = None
                if len(row.code) in PARENT_LENGTH:
                    parent = known.get(row.code[: PARENT_LENGTH[len(row.code)]])
                    if parent is None:
                        raise DomainError(
                            REGION_IMPORT_INVALID, {"code": row.code, "reason": "parent_missing"}
                        )
                path = f"{parent[1] if parent else ''}{row.code}/"
                if row.code in known:
                    await Region.update({Region.name: row.name}).where(Region.code == row.code)
                else:
                    inserted = await Region.insert(
                        Region(
                            code=row.code, name=row.name, level=level, parent=parent and parent[0], path=path
                        )
                    ).returning(Region.id)
                    known[row.code] = (inserted[0]["id"], path)
                written += 1
        progress(len(chunk))
    return written


async def region_by_code(code: str) -> Region:
    region = await Region.objects().get(Region.code == code)
    if region is None:
        raise DomainError(REGION_NOT_FOUND, {"code": code})
    return region


async def subtree(code: str, *, depth: int | None = None) -> list[Region]:
    root = await region_by_code(code)
    query = Region.objects().where(Region.path.like(f"{root.path}%")).order_by(Region.path)
    rows: list[Region] = await query
    if depth is not None:
        limit = root.path.count("/") + depth
        rows = [r for r in rows if r.path.count("/") <= limit]
    return rows


def _chunks(items: list[RegionRow], size: int) -> Iterator[list[RegionRow]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
