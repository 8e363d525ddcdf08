"""Operator commands: python -m volunteer migrate | import-regions FILE | create-admin | verify-audit-log."""

from __future__ import annotations

import getpass
from datetime import UTC, datetime
from pathlib import Path

import click
from rich.progress import Progress

from errors import DomainError
from volunteer.db import run_with_database


@click.group()
def cli() -> None:
    """志愿服务平台运维命令"""


@cli.command()
def migrate() -> None:
    """Apply all database migrations."""
    from volunteer.setup import migrate as run

    run_with_database(run)
    click.echo("数据库迁移已完成")


@cli.command("import-regions")
@click.argument("csv_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_regions_command(csv_file: Path) -> None:
    """Import or update regions from a CSV of code,name (区 6 位, 街镇 9 位, 村居 12 位)."""
    from volunteer.regions import import_regions, read_csv

    try:
        rows = read_csv(csv_file)
    except DomainError as exc:
        raise click.ClickException(f"{exc.message}：{exc.detail}") from exc

    async def run() -> int:
        with Progress() as progress:
            task = progress.add_task("导入行政区划", total=len(rows))
            return await import_regions(rows, progress=lambda n: progress.advance(task, n))

    try:
        count = run_with_database(run)
    except DomainError as exc:
        raise click.ClickException(f"{exc.message}：{exc.detail}") from exc
    click.echo(f"已导入 {count} 条行政区划")


@cli.command("create-admin")
@click.option("--phone", required=True)
@click.option("--name", required=True)
def create_admin(phone: str, name: str) -> None:
    """Create the first platform admin (the password is asked for, never passed on the command line)."""
    from settings import load_settings
    from volunteer.setup import create_first_admin

    password = getpass.getpass("密码：")
    try:
        settings = load_settings()
        run_with_database(
            lambda: create_first_admin(
                settings, phone=phone, name=name, password=password, now=datetime.now(UTC)
            )
        )
    except DomainError as exc:
        raise click.ClickException(exc.message) from exc
    click.echo("管理员账号已创建")


@cli.command("verify-audit-log")
def verify_audit_log() -> None:
    """Verify the audit log's hash chain end to end; exit 1 at the first changed entry."""
    from volunteer.audit_log import describe, verify_chain

    async def run() -> bool:
        report = await verify_chain()
        click.echo(describe(report))
        return report.ok

    if not run_with_database(run):
        raise SystemExit(1)


if __name__ == "__main__":
    cli()
