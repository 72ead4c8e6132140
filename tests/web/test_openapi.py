"""The OpenAPI document validates, and every operation says what it does and how it fails."""

from __future__ import annotations

import httpx
from openapi_spec_validator import validate


async def test_openapi_document_validates(api: httpx.AsyncClient) -> None:
    response = await api.get("/openapi.json")
    assert response.status_code == 200
    validate(response.json())


async def test_every_operation_has_summary_tag_and_problem_responses(
    api: httpx.AsyncClient,
) -> None:
    spec = (await api.get("/openapi.json")).json()
    assert spec["components"]["schemas"]["Problem"]["required"] == [
        "type",
        "title",
        "status",
        "detail",
    ]
    operations = [
        (path, method, op) for path, item in spec["paths"].items() for method, op in item.items()
    ]
    assert len(operations) >= 7
    for path, method, op in operations:
        where = f"{method.upper()} {path}"
        assert op.get("summary"), f"{where} has no summary"
        assert op.get("tags"), f"{where} has no tag"
        errors = {code: r for code, r in op["responses"].items() if code[0] in "45"}
        assert errors, f"{where} documents no error response"
        for code, response in errors.items():
            schema = response["content"]["application/problem+json"]["schema"]
            assert schema == {"$ref": "#/components/schemas/Problem"}, f"{where} {code}"
