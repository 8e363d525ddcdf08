"""The OpenAPI schema is the contract: every route declares who may call it and documents its errors."""

from __future__ import annotations

from typing import Any

from litestar import Litestar
from litestar.handlers import HTTPRouteHandler

import errors
from volunteer.api.security import anyone, signed_in


def test_every_route_declares_who_may_call_it(app: Litestar) -> None:
    for route in app.routes:
        for handler in getattr(route, "route_handlers", []):
            automatic = handler.http_methods == {"OPTIONS"} or route.path.startswith("/schema")
            if not isinstance(handler, HTTPRouteHandler) or automatic:
                continue
            guards = [getattr(g, "func", g) for g in handler.resolve_guards()]
            assert guards, f"{route.path} {handler.http_methods} has no guard"
            public = anyone in guards
            assert public or signed_in in guards or any(g.__name__.startswith("has_role") for g in guards), (
                route.path
            )


def test_every_operation_has_a_summary_and_documents_its_errors(app: Litestar) -> None:
    schema: dict[str, Any] = app.openapi_schema.to_schema()
    for path, item in schema["paths"].items():
        for method, op in item.items():
            assert op.get("summary"), f"{method} {path} has no summary"
            statuses = set(op["responses"])
            assert "400" in statuses, f"{method} {path} does not document REQUEST_INVALID"
            if op.get("security"):
                assert "401" in statuses, f"{method} {path} does not document its token errors"


def test_every_error_code_is_in_the_schema_description(app: Litestar) -> None:
    description = app.openapi_schema.to_schema()["info"]["description"]
    for code in errors.CATALOG:
        assert f"`{code}`" in description


def test_error_messages_are_chinese() -> None:
    for entry in errors.CATALOG.values():
        assert any("\u4e00" <= ch <= "\u9fff" for ch in entry.message), entry.code
        assert 400 <= entry.status < 600
