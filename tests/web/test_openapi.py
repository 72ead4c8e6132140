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
        page = "text/html" in op["responses"].get("200", {}).get("content", {})
        for code, response in errors.items():
            if page and "text/html" in response["content"]:
                continue  # a page's own error page, such as an unknown link
            schema = response["content"]["application/problem+json"]["schema"]
            assert schema == {"$ref": "#/components/schemas/Problem"}, f"{where} {code}"


async def test_every_operation_lists_each_status_it_can_answer(api: httpx.AsyncClient) -> None:
    spec = (await api.get("/openapi.json")).json()
    for path, item in spec["paths"].items():
        for method, op in item.items():
            where, codes = f"{method.upper()} {path}", set(op["responses"])
            assert {"422", "429", "503"} <= codes, where
            if "requestBody" in op:
                assert {"400", "413", "422"} <= codes, where
            if any(p["in"] == "path" for p in op.get("parameters", [])):
                assert "404" in codes, where
    portal = spec["paths"]["/v1/client/portal/bookings"]["get"]
    assert "client-session-required" in portal["responses"]["403"]["description"]
    assert portal["security"] == [{"clientSession": []}, {"bearerAuth": []}]
    staff_write = spec["paths"]["/v1/admin/resources"]["post"]
    assert "read-only" in staff_write["responses"]["409"]["description"]
    assert staff_write["security"] == [{"bearerAuth": []}, {"adminApiKey": []}]
    assert "409" not in spec["paths"]["/v1/admin/org/safety"]["patch"]["responses"]
    assert "security" not in spec["paths"]["/v1/leads"]["post"]
    busy = spec["paths"]["/healthz"]["get"]["responses"]["503"]
    assert "service-unavailable" in busy["description"]


async def test_security_schemes_are_declared(api: httpx.AsyncClient) -> None:
    schemes = (await api.get("/openapi.json")).json()["components"]["securitySchemes"]
    assert schemes["bearerAuth"] | {"description": ""} == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "",
    }
    assert (schemes["adminApiKey"]["in"], schemes["adminApiKey"]["name"]) == (
        "header",
        "X-Admin-API-Key",
    )
    assert (schemes["clientSession"]["in"], schemes["clientSession"]["name"]) == (
        "cookie",
        "client_session",
    )


async def test_time_inputs_are_dates_or_instants_with_an_offset(api: httpx.AsyncClient) -> None:
    spec = (await api.get("/openapi.json")).json()
    booking = spec["components"]["schemas"]["BookingIn"]["properties"]["start"]
    assert booking["format"] == "date-time"
    [since] = [
        p for p in spec["paths"]["/v1/admin/audit"]["get"]["parameters"] if p["name"] == "since"
    ]
    assert {"type": "string", "format": "date-time"} in since["schema"]["anyOf"]
    [day] = [p for p in spec["paths"]["/v1/slots"]["get"]["parameters"] if p["name"] == "date"]
    assert day["schema"]["format"] == "date"
