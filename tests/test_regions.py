"""The region tree: CSV import (idempotent), lookups and subtrees."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.builders import DEMO_REGIONS, World
from volunteer.regions import import_regions, read_csv
from volunteer.tables import Region


async def test_importing_the_same_file_twice_changes_nothing(world: World) -> None:
    before = await Region.select(Region.code, Region.name, Region.path).order_by(Region.code)
    await import_regions(read_csv(DEMO_REGIONS))
    assert await Region.select(Region.code, Region.name, Region.path).order_by(Region.code) == before


async def test_subtree_and_direct_children(world: World) -> None:
    whole = await world.client.get("/regions/310151101/subtree")
    assert [r["code"] for r in whole.json()] == ["310151101", "310151101001", "310151101002", "310151101201"]
    children = await world.client.get("/regions/310151/subtree", params={"depth": 1})
    assert [(r["code"], r["level"]) for r in children.json()][1:] == [
        ("310151101", "street"),
        ("310151102", "street"),
        ("310151103", "street"),
    ]
    one = (await world.client.get("/regions/310151101001")).json()
    assert one == {
        "code": "310151101001",
        "name": "城桥镇鳌山居委会",
        "level": "community",
        "parent_code": "310151101",
    }
    assert (await world.client.get("/regions/999999")).json()["code"] == "REGION_NOT_FOUND"


def test_cli_imports_a_csv_and_refuses_a_bad_one(tmp_path: Path, world: World) -> None:
    good = tmp_path / "regions.csv"
    good.write_text("code,name\n310151104,竖新镇\n310151104001,竖新镇竖新居委会\n", encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "volunteer", "import-regions", str(good)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert "已导入 2 条行政区划" in done.stdout
    bad = tmp_path / "bad.csv"
    bad.write_text("code,name\n3101x,错误\n", encoding="utf-8")
    refused = subprocess.run(
        [sys.executable, "-m", "volunteer", "import-regions", str(bad)], capture_output=True, text=True
    )
    assert refused.returncode != 0 and "行政区划文件格式不正确" in refused.stderr
    orphan = tmp_path / "orphan.csv"
    orphan.write_text("310152101001,无上级的村居\n", encoding="utf-8")
    refused = subprocess.run(
        [sys.executable, "-m", "volunteer", "import-regions", str(orphan)], capture_output=True, text=True
    )
    assert refused.returncode != 0 and "parent_missing" in refused.stderr
