"""`python -m jobs`: the arq worker as its own process, beside an app given the same REDIS_URL."""

from __future__ import annotations

import logging
import sys

from arq.connections import RedisSettings
from arq.worker import run_worker

from jobs.worker import WorkerSettings
from settings import load_settings


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = load_settings()
    if not settings.redis_url:
        print("REDIS_URL is not set: without it, the app runs the jobs itself", file=sys.stderr)
        return 2
    run_worker(
        WorkerSettings, redis_settings=RedisSettings.from_dsn(settings.redis_url), ctx={"settings": settings}
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
