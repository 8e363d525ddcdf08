"""The whole check: lint, types, then the test suite on every database configured.

With DATABASE_URL pointing at PostgreSQL (as in CI) the suite runs there and again on SQLite,
so the embedded default never rots; without it, on SQLite only.
"""

from __future__ import annotations

import os
import subprocess
import sys

PY = sys.executable
SOURCES = [
    "app.py",
    "settings.py",
    "errors.py",
    "piccolo_conf.py",
    "volunteer",
    "incentives",
    "jobs",
    "bench",
    "tests",
]


def run(title: str, argv: list[str], env: dict[str, str] | None = None) -> bool:
    print(f"\n==> {title}", flush=True)
    return subprocess.run(argv, env=env).returncode == 0


def main() -> int:
    sources = [s for s in SOURCES if os.path.exists(s)]
    ok = run("ruff", [PY, "-m", "ruff", "check", *sources])
    ok &= run("ruff format", [PY, "-m", "ruff", "format", "--check", "--quiet", *sources])
    ok &= run("mypy --strict", [PY, "-m", "mypy", *sources])
    database_url = os.environ.get("DATABASE_URL", "")
    if database_url and not database_url.startswith("sqlite"):
        ok &= run(f"pytest on PostgreSQL ({database_url})", [PY, "-m", "pytest", *sys.argv[1:]])
    sqlite_env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    ok &= run("pytest on SQLite (embedded)", [PY, "-m", "pytest", *sys.argv[1:]], env=sqlite_env)
    print("\n==> all checks passed" if ok else "\n==> CHECK FAILED", flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
