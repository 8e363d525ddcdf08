"""The configurable rules for records, star levels and certificates (DOMAIN rules 17, 23, 24)."""

from __future__ import annotations

from dataclasses import dataclass, field

from settings import Settings
from volunteer.workdays import WorkCalendar, load_calendar, workdays_path


@dataclass(frozen=True, slots=True)
class RecordRules:
    deadline_workdays: int = 10  # rule 17: records are final this many working days after the service day
    reminder_workdays: int = 7  # rule 17: still pending this many working days on: remind the organization
    star_thresholds_h: tuple[int, ...] = (100, 300, 600, 1000, 1500)  # rule 24: hours for 1★, 2★, ...
    star_mode: str = "cumulative"  # rule 24: "cumulative", or "yearly" (per calendar year)
    star_publicity_workdays: int = 5  # rule 24: 公示 before a reached level is published
    public_base_url: str = "http://127.0.0.1:8000"  # certificates' QR codes point under here
    calendar: WorkCalendar = field(default_factory=WorkCalendar)  # working days with 调休 (workdays.py)

    @classmethod
    def from_settings(cls, settings: Settings) -> RecordRules:
        return cls(
            deadline_workdays=settings.record_deadline_workdays,
            reminder_workdays=settings.record_reminder_workdays,
            star_thresholds_h=settings.star_thresholds_h,
            star_mode=settings.star_mode,
            star_publicity_workdays=settings.star_publicity_workdays,
            public_base_url=settings.public_base_url,
            calendar=load_calendar(workdays_path(settings.data_dir)),
        )
