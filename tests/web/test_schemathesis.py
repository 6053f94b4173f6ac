"""Schemathesis against the OpenAPI spec, in-process (ASGI): no 500, no response
that violates the schema, on generated inputs — valid and invalid."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

CHECKS = (not_a_server_error, response_schema_conformance, status_code_conformance,
          content_type_conformance, negative_data_rejection)


@pytest.fixture(scope="module")
def app(web_run):
    from rosp.web.app import create_app

    return create_app(web_run, token="")


OPERATIONS = [
    ("GET", "/api/programmes"),
    ("GET", "/api/programmes/{slug}/indicators"),
    ("POST", "/api/simulate"),
    ("POST", "/api/reform"),
    ("GET", "/api/runs/current/doctors/{doctor_id}"),
    ("GET", "/api/runs/current/doctors/{doctor_id}/evidence"),
]


@pytest.fixture(scope="module")
def api_schema(app):
    return schemathesis.openapi.from_asgi("/openapi.json", app)


def test_every_api_operation_is_fuzzed(api_schema):
    ops = {(r.ok().method.upper(), r.ok().path) for r in api_schema.get_all_operations()}
    assert ops == set(OPERATIONS)


@pytest.mark.parametrize("method, path", OPERATIONS)
def test_api_conforms_to_its_schema(api_schema, method, path):
    op = api_schema[path][method]
    strategy = op.as_strategy()

    @given(case=strategy)
    @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def run(case):
        case.call_and_validate(checks=CHECKS)

    run()
