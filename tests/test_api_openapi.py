"""The OpenAPI document the service publishes: every operation's success answer is a documented
shape, so /docs (and a client generated from /openapi.json) knows each field a route returns."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from energy_grid.api import create_app
from energy_grid.domain.enums import ZoneRole
from energy_grid.index.answers import json_name

SUCCESS = ("200", "201")


@pytest.fixture
def openapi(api_settings: Any) -> dict[str, Any]:
    with TestClient(create_app(api_settings(follow=False))) as http:
        answer = http.get("/openapi.json")
        assert answer.status_code == 200
        return answer.json()


def resolved(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    """`schema` with its `$ref`s followed to the component they name."""
    while "$ref" in schema:
        name = schema["$ref"].removeprefix("#/components/schemas/")
        schema = document["components"]["schemas"][name]
    return schema


def test_every_success_answer_has_a_shape(openapi):
    operations = [
        (method.upper(), path, operation)
        for path, methods in openapi["paths"].items()
        for method, operation in methods.items()
        if path.startswith("/api/v1/")
    ]
    assert len(operations) == 53
    shapeless = []
    for method, path, operation in operations:
        answers = {status: answer for status, answer in operation["responses"].items() if status in SUCCESS}
        assert answers, f"{method} {path} documents no success answer"
        for status, answer in answers.items():
            schema = answer.get("content", {}).get("application/json", {}).get("schema", {})
            if not resolved(openapi, schema).get("properties"):
                shapeless.append(f"{method} {path} {status}")
    assert shapeless == []


def test_answers_name_their_fields_as_the_json_does(openapi):
    """A field whose Python name differs from its JSON name (`from`) is documented by its JSON name."""
    production = resolved(openapi, {"$ref": "#/components/schemas/MeterProductionOut"})
    assert {"meter", "from", "to", "productionWh", "intervals"} == set(production["properties"])


def test_the_analytics_figures_are_named_in_json_by_the_one_rule(openapi):
    """The figures Python reads in snake_case with their units (energy_grid.index.analytics and
    .forecasts) are documented and served by their JSON names: camelCase, kW and kWh as the contracts
    spell them, a time without its `_s`, and the figures derived from others among them."""
    peak = resolved(openapi, {"$ref": "#/components/schemas/TransformerPeak"})["properties"]
    assert {"regionId", "peakDemandKW", "capacityKW", "reportedAt", "peakWithoutDemandResponseKW"} <= set(peak)
    assert "gramsCo2ePerKWh" in resolved(openapi, {"$ref": "#/components/schemas/Co2"})["properties"]
    supply = resolved(openapi, {"$ref": "#/components/schemas/SelfSupply"})["properties"]
    assert {"consumptionMetLocallyWh", "selfSufficiency", "selfConsumption"} <= set(supply)
    band = resolved(openapi, {"$ref": "#/components/schemas/IntervalBand"})["properties"]
    assert set(band) == {"interval", "start", "p10Wh", "p50Wh", "p90Wh", "netImportWh"}
    assert json_name("reported_at_s") == "reportedAt" and json_name("exceeded_p90_share") == "exceededP90Share"


def test_the_operator_routes_are_one_group_behind_the_bearer_scheme(openapi):
    """/docs lists the operator's routes under their own heading, each with the operator token's lock
    (its Authorize button takes the token), and no other route asks for it."""
    assert openapi["components"]["securitySchemes"]["operatorToken"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "The service's operator token",
    }
    guarded = {
        (method.upper(), path): operation
        for path, methods in openapi["paths"].items()
        for method, operation in methods.items()
        if operation.get("security")
    }
    assert set(guarded) == {
        ("GET", "/api/v1/operator/token"),
        ("POST", "/api/v1/grid/balance"),
        ("POST", "/api/v1/grid/load"),
        ("POST", "/api/v1/grid/emergency"),
        ("POST", "/api/v1/demand-response/events"),
    }
    for operation in guarded.values():
        assert operation["tags"] == ["grid operator (bearer token)"]
        assert operation["security"] == [{"operatorToken": []}]


def test_a_zone_s_role_is_documented_by_the_names_of_the_contract_s_roles(openapi):
    """Both zone answers give `role` as one of IMarketZones.ZoneRole's names, or null; no `binding`."""
    names = [role.name for role in ZoneRole]
    for shape in ("ZoneLinkOut", "ZoneClearingOut"):
        properties = resolved(openapi, {"$ref": f"#/components/schemas/{shape}"})["properties"]
        assert "binding" not in properties
        choices = properties["role"]["anyOf"]
        assert [resolved(openapi, choice).get("enum") for choice in choices] == [names, None]
        assert choices[1] == {"type": "null"}
