"""The 区 → 街镇 → 村居 tree: import from CSV, look up by code, walk a subtree."""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from errors import REGION_CODE_INVALID, REGION_IMPORT_INVALID, REGION_NOT_FOUND, DomainError
from volunteer.db import write_transaction
from volunteer.tables import Region, RegionLevel

# Official codes: 6 digits for a 区/县, 9 for a 街道/乡镇, 12 for a 居委/村委.
LEVEL_BY_LENGTH = {6: RegionLevel.district, 9: RegionLevel.street, 12: RegionLevel.community}
PARENT_LENGTH = {9: 6, 12: 9}


@dataclass(frozen=True, slots=True)
class RegionRow:
    """A line of an import file."""

    code: str
    name: str


@dataclass(frozen=True, slots=True)
class RegionRef:
    """A region as the rest of the code needs it; read with raw SQL, since lookups sit on hot paths."""

    id: int
    code: str
    name: str
    level: RegionLevel
    path: str

    @property
    def parent_code(self) -> str | None:
        parts = self.path.rstrip("/").split("/")
        return parts[-2] if len(parts) > 1 else None


_SELECT = "SELECT id, code, name, level, path FROM region "


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


async def region_by_code(code: str) -> RegionRef:
    rows = await Region.raw(_SELECT + "WHERE code = {}", code)
    if not rows:
        raise DomainError(REGION_NOT_FOUND, {"code": code})
    return _ref(rows[0])


async def subtree(code: str, *, depth: int | None = None) -> list[RegionRef]:
    """The region and everything under it (or only `depth` levels down), parents before children."""
    root = await region_by_code(code)
    rows = [_ref(r) for r in await Region.raw(_SELECT + "WHERE path LIKE {} ORDER BY path", f"{root.path}%")]
    if depth is not None:
        limit = root.path.count("/") + depth
        rows = [r for r in rows if r.path.count("/") <= limit]
    return rows


def _ref(row: dict[str, Any]) -> RegionRef:
    return RegionRef(row["id"], row["code"], row["name"], RegionLevel(row["level"]), row["path"])


def _chunks(items: list[RegionRow], size: int) -> Iterator[list[RegionRow]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
