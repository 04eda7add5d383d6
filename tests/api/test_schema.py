"""schemathesis against the app's own /openapi.json, in-process, with bounded examples.

Every operation gets ``MAX_EXAMPLES`` positive and as many negative cases, sent with an
admin key so that every operation is reached past auth. Checked: no 5xx, documented status
codes and content types, bodies that match the response schema.

(schemathesis' lazy ``from_fixture`` loader does not run on pytest 9, so the operations are
driven here with ``operation.as_strategy()``, which is what it does internally.)
"""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.api.conftest import ApiFactory

MAX_EXAMPLES = 25
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def test_api_conforms_to_its_schema(make_api: ApiFactory) -> None:
    api = make_api()
    api.seed()
    admin = api.headers("admin")
    schema = schemathesis.openapi.from_asgi("/openapi.json", api.app)
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(
                max_examples=MAX_EXAMPLES,
                deadline=None,
                suppress_health_check=list(HealthCheck),
                derandomize=True,
                database=None,
            )
            def run(case: schemathesis.Case) -> None:
                case.call_and_validate(headers=admin, checks=CHECKS)

            try:
                run()
            except Unsatisfiable:
                continue  # nothing to make invalid (an operation without parameters)
            except (Exception, BaseExceptionGroup) as exc:  # collect all, then report
                failures.append(f"{operation.label} [{mode}]: {exc}")
    assert operations >= 12
    assert not failures, "\n\n".join(failures)
