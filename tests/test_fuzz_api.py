"""The fuzzing gate: schemathesis over every operation in /api/schema/, as staff, in-process over WSGI.

Every documented operation gets a bounded number of generated requests, valid and invalid: no 5xx, every answer
conforms to the schema (status, content type, headers, body), invalid input gets a 4xx. Operations that land later
are covered without touching this file. COMFYVN_FUZZ_EXAMPLES raises the budget for a deeper run.

Schema-valid input may still be refused with a 4xx (an unknown template id is valid JSON Schema but not a valid
request), so positive-data acceptance is not asserted. Two more tolerances, on purpose: DRF reads a JSON number sent
for a string field as that string and a numeric string sent for a number field as that number, and a blank optional
query parameter (`?region=`) means "no filter". Invalid data whose only fault is one of these may be answered 2xx;
every other invalid input must get a 4xx.
"""
import gzip
import json
import os

import pytest
import schemathesis
from django.core.management import call_command
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from hypothesis import HealthCheck, settings
from rest_framework.authtoken.models import Token
from schemathesis.core.failures import AcceptedNegativeData
from schemathesis.core.mutations import OperatorKind
from schemathesis.core.parameters import ParameterLocation
from schemathesis.generation.meta import CoverageScenario
from schemathesis.specs.openapi.checks import (
    negative_data_rejection,
    positive_data_acceptance,
)

# The bare Django handler: comfyvn_site.wsgi also runs the startup checks, which need a database at import time.
application = get_wsgi_application()

EXAMPLES = int(os.environ.get("COMFYVN_FUZZ_EXAMPLES", "25"))



def _served_schema() -> dict:
    """What /api/schema/ serves, built by the same generator in-process: the route needs a login, and a login needs
    the test database, which does not exist yet while tests are collected."""
    document = SchemaGenerator().get_schema(request=None, public=True)
    return json.loads(OpenApiJsonRenderer().render(document))


def _decoded_as_http_clients_do(app):
    """The WSGI app, its gzip answers decoded as requests and browsers decode them (schemathesis asks for gzip, and
    werkzeug's test client hands the compressed bytes on): the checks read what those clients read, and an answer
    that does not decode fails the gate."""

    def decoded(environ, start_response):
        answer = {}

        def capture(status, headers, exc_info=None):
            answer.update(status=status, headers=headers)
            return lambda data: None

        chunks = app(environ, capture)
        try:
            body = b"".join(chunks)
        finally:
            getattr(chunks, "close", lambda: None)()
        headers = answer["headers"]
        if ("Content-Encoding", "gzip") in headers:
            body = gzip.decompress(body)
            headers = [(name, value) for name, value in headers if name not in ("Content-Encoding", "Content-Length")]
            headers.append(("Content-Length", str(len(body))))
        start_response(answer["status"], headers)
        return [body]

    return decoded


schema = schemathesis.openapi.from_dict(_served_schema())
schema.app = _decoded_as_http_clients_do(application)  # as from_wsgi sets it: every case is called in-process
# PostgreSQL cannot store NUL in text or jsonb, so the parser refuses it everywhere (tests/test_parsers.py).
schema.config.generation.update(allow_x00=False)


def _only_type_swaps(case) -> bool:
    data = case.meta.phase.data
    if getattr(data, "scenario", None) == CoverageScenario.INCORRECT_TYPE:
        return True
    mutations = getattr(data, "mutations", ())
    return bool(mutations) and all(m.operator == OperatorKind.CHANGE_TYPE for m in mutations)


def _only_blank_query_values(case) -> bool:
    """`?name=` read as "no filter" rather than as an empty string, as HTML forms and django-filter do."""
    data = case.meta.phase.data
    named = [(m.parameter_location, m.parameter) for m in getattr(data, "mutations", ())]
    named = named or [(getattr(data, "parameter_location", None), getattr(data, "parameter", None))]
    query = case.query or {}
    return all(location == ParameterLocation.QUERY and query.get(name) == "" for location, name in named)


def invalid_input_rejected(ctx, response, case):
    """schemathesis' negative_data_rejection, less two leniencies by design: DRF's string/number coercion and
    blank optional query parameters treated as absent."""
    try:
        return negative_data_rejection(ctx, response, case)
    except AcceptedNegativeData:
        if _only_type_swaps(case) or _only_blank_query_values(case):
            return None
        raise



@pytest.fixture(autouse=True)
def keep_test_connection():
    """Requests go straight to the WSGI app: keep it from closing the test's connection, as Django's client does."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def staff_headers(staff, templates):
    return {"Authorization": f"Token {Token.objects.create(user=staff).key}"}


@pytest.mark.django_db
@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.filter_too_much, HealthCheck.data_too_large])
def test_api_operation_survives_fuzzing(case, staff_headers):
    case.call_and_validate(headers=staff_headers, excluded_checks=[negative_data_rejection, positive_data_acceptance],
                           additional_checks=[invalid_input_rejected])


def test_schema_documents_every_operation_without_warnings(tmp_path):
    """An operation the generator cannot describe falls out of the schema, and so out of the gate above; two
    components with one name make the schema describe one of them wrongly."""
    GENERATOR_STATS.reset()
    call_command("spectacular", "--validate", "--file", str(tmp_path / "schema.yaml"))
    found = [*GENERATOR_STATS._warn_cache, *GENERATOR_STATS._error_cache]
    assert found == []
