"""What a refused Kubernetes call says: the API server's reason, not only its HTTP status."""

from __future__ import annotations

import json

from kubernetes.client.exceptions import ApiException

from replica_operator.kube import refusal


def _refused(status: int, reason: str, body: str | None) -> ApiException:
    error = ApiException(status=status, reason=reason)
    error.body = body
    return error


def test_an_admission_policys_message_is_kept_beside_the_http_reason() -> None:
    message = 'persistentvolumes "iro-1" is forbidden: ValidatingAdmissionPolicy denied request'
    body = json.dumps({"kind": "Status", "status": "Failure", "message": message, "code": 422})
    assert refusal(_refused(422, "Unprocessable Entity", body)) == f"Unprocessable Entity: {message}"


def test_a_long_message_is_cut_at_300_characters() -> None:
    body = json.dumps({"kind": "Status", "message": "x" * 1000})
    assert refusal(_refused(422, "Unprocessable Entity", body)) == "Unprocessable Entity: " + "x" * 300


def test_without_a_status_body_the_http_reason_is_all() -> None:
    for body in (None, "", "not json", "[1, 2]", json.dumps({"kind": "Status"})):
        assert refusal(_refused(503, "Service Unavailable", body)) == "Service Unavailable"
