"""What a certificate states besides the person (rule 23), fixed when it is issued: per recording unit
its minutes, persons in charge, contact and a short summary of the activities, and who issues it."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from volunteer.categories import LABELS, ServiceCategory
from volunteer.db import as_uuid
from volunteer.tables import Region

NAMES_PER_LINE = 3  # activity names (and persons in charge) shown per recording unit before "等"


def content_of(records: Sequence[dict[str, Any]], district: str | None) -> dict[str, Any]:
    """What the PDF states besides the person, fixed at issue: per recording unit its minutes, persons in
    charge, contact and a short summary of the activities; the issuer ("谁记录谁证明": the one recording
    unit, or the 文明办 of the volunteer's district when several recorded)."""
    units: dict[uuid.UUID, dict[str, Any]] = {}
    categories: list[str] = []
    for r in records:
        org = as_uuid(r["organization"])
        unit = units.setdefault(
            org,
            {
                "organization_id": str(org),
                "name": r["organization_name"],
                "phone": r["contact_phone"] or "",
                "minutes": 0,
                "persons": [],
                "activities": [],
            },
        )
        unit["minutes"] += int(r["credited_minutes"])
        for key, value in (("persons", r["person_in_charge"]), ("activities", r["activity_name"])):
            if value and value not in unit[key]:
                unit[key].append(value)
        label = _category_label(r["category"])
        if label not in categories:
            categories.append(label)
    out_units = [
        {
            "organization_id": u["organization_id"],
            "name": u["name"],
            "person_in_charge": _short(u["persons"], "人"),
            "phone": u["phone"],
            "minutes": u["minutes"],
            "content": _short(u["activities"], "项活动"),
        }
        for u in units.values()
    ]
    if len(out_units) == 1 or not district:
        issuer = out_units[0]["name"] if len(out_units) == 1 else "志愿服务记录单位"
    else:
        issuer = f"{district}精神文明建设委员会办公室"
    return {"issuer": issuer, "categories": categories, "units": out_units}


def _short(items: Sequence[str], unit: str) -> str:
    shown = "、".join(items[:NAMES_PER_LINE])
    return shown + (f"等{len(items)}{unit}" if len(items) > NAMES_PER_LINE else "")


def _category_label(code: object) -> str:
    try:
        return LABELS[ServiceCategory(str(code))]
    except ValueError:
        return str(code)


async def district_name(region_path: str) -> str | None:
    """The volunteer's district: the first code of the region path."""
    code = region_path.split("/", 1)[0]
    row = await Region.select(Region.name).where(Region.code == code).first()
    return str(row["name"]) if row else None
