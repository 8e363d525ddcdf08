"""Service categories that count as volunteer service (DOMAIN rule 8): the whitelist."""

from __future__ import annotations

from enum import StrEnum


class ServiceCategory(StrEnum):
    community_service = "community_service"
    elderly_and_disabled = "elderly_and_disabled"
    children_and_youth = "children_and_youth"
    poverty_relief = "poverty_relief"
    environment = "environment"
    culture_and_arts = "culture_and_arts"
    science_education = "science_education"
    health_care = "health_care"
    emergency_rescue = "emergency_rescue"
    legal_aid = "legal_aid"
    public_safety = "public_safety"
    large_events = "large_events"
    civilization_practice = "civilization_practice"


LABELS: dict[ServiceCategory, str] = {
    ServiceCategory.community_service: "社区服务",
    ServiceCategory.elderly_and_disabled: "助老助残",
    ServiceCategory.children_and_youth: "关爱少年儿童",
    ServiceCategory.poverty_relief: "扶贫济困",
    ServiceCategory.environment: "生态环保",
    ServiceCategory.culture_and_arts: "文化艺术",
    ServiceCategory.science_education: "科普教育",
    ServiceCategory.health_care: "医疗卫生",
    ServiceCategory.emergency_rescue: "应急救援",
    ServiceCategory.legal_aid: "法律服务",
    ServiceCategory.public_safety: "平安建设",
    ServiceCategory.large_events: "大型活动",
    ServiceCategory.civilization_practice: "文明实践",
}
