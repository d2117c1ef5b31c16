"""The registry client at the boundary: what a tracking server — or something at its address — answers is outside
input. Every bad answer (an error, not JSON, the wrong shape, too large, a version without a profile, nothing
listening) is one StorageError or ProfileError naming the reference, never a crash and never unbounded memory; the
credentials go out as MLflow's variables say and never into a message. The real server's happy path is in
tests/e2e/test_mlflow_registry.py."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from drift import parse_config
from drift.errors import ConfigError, ProfileError, StorageError
from drift.reference.registry import MAX_RESPONSE_BYTES, Registry, RegistryReference, _proxied
from driftline.demo.stack import LoopbackServer, QuietHandler
from tests.support import config_dict, free_port


class ScriptedRegistry(LoopbackServer):
    """Answers every GET with ``status`` and ``body``; records the paths and headers it was asked with."""

    def __init__(self) -> None:
        self.status, self.body = 200, b"{}"
        self.asked: list[tuple[str, dict[str, str]]] = []
        fake = self

        class Handler(QuietHandler):
            def do_GET(self) -> None:
                fake.asked.append((self.path, dict(self.headers.items())))
                self.reply(fake.status, fake.body, {"Content-Type": "application/json"})

        super().__init__(Handler)

    def answer(self, status: int, body: Any) -> None:
        self.status, self.body = status, body if isinstance(body, bytes) else json.dumps(body).encode()


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[ScriptedRegistry]:
    for name in ("MLFLOW_TRACKING_TOKEN", "MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    with ScriptedRegistry() as fake:
        monkeypatch.setenv("MLFLOW_TRACKING_URI", fake.url)
        yield fake


CHAMPION = RegistryReference.parse("models:/churn-model@champion")
VERSION = {"name": "churn-model", "version": "3", "run_id": "abc", "tags": []}


def test_an_alias_resolves_to_its_version_and_profile(server: ScriptedRegistry) -> None:
    tags = [{"key": "driftline.profile", "value": "s3://b/1/abc/artifacts/driftline/profile.json"}]
    server.answer(200, {"model_version": {**VERSION, "tags": tags}})
    found = Registry().version(CHAMPION)
    assert (found.version, found.run_id, found.uri) == ("3", "abc", "models:/churn-model/3")
    assert Registry().profile_of(found) == "s3://b/1/abc/artifacts/driftline/profile.json"
    path, _ = server.asked[0]
    assert path == "/api/2.0/mlflow/registered-models/alias?name=churn-model&alias=champion"


@pytest.mark.parametrize(
    ("status", "body", "says", "missing"),
    [
        (400, {"error_code": "INVALID_PARAMETER_VALUE", "message": "Registered model alias champion not found."},
         "not in the MLflow registry", True),
        (404, {"error_code": "RESOURCE_DOES_NOT_EXIST", "message": "no model"}, "not in the MLflow registry", True),
        (401, b"", "refused the credentials (401)", False),
        (500, b"<html>\x00\x1b[31m upstream down</html>", "answered 500", False),
        (200, b"not json", "not JSON", False),
        (200, [1, 2], "not a JSON object", False),
        (200, {"model_version": {"version": None}}, "has no model_version", False),
        (200, b" " * (MAX_RESPONSE_BYTES + 10), "larger than", False),
    ],
)  # fmt: skip
def test_a_bad_answer_is_one_storage_error_naming_the_reference(
    server: ScriptedRegistry, status: int, body: Any, says: str, missing: bool
) -> None:
    server.answer(status, body)
    with pytest.raises(StorageError) as caught:
        Registry().version(CHAMPION)
    message = str(caught.value)
    assert message.startswith("models:/churn-model@champion: ") and says in message
    assert caught.value.missing is missing
    assert "\x1b" not in message and "\x00" not in message and len(message) < 400


def test_a_version_without_a_profile_says_how_to_attach_one(server: ScriptedRegistry) -> None:
    server.answer(200, {"model_version": VERSION})
    with pytest.raises(ProfileError, match=r"models:/churn-model/3 carries no driftline profile.*attach-profile"):
        Registry().profile_of(Registry().version(CHAMPION))


def test_nothing_listening_is_unreachable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"http://127.0.0.1:{free_port()}")
    with pytest.raises(StorageError, match="is unreachable: ConnectionError") as caught:
        Registry().version(CHAMPION)
    assert caught.value.missing is False  # retried: the registry may come back


def test_no_tracking_uri_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    with pytest.raises(StorageError, match="set MLFLOW_TRACKING_URI"):
        Registry()


def test_credentials_go_as_mlflow_says_and_never_into_a_message(
    server: ScriptedRegistry, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", "s3cr3t-token")
    server.answer(403, {"message": "nope"})
    with pytest.raises(StorageError) as caught:
        Registry().version(CHAMPION)
    assert server.asked[-1][1]["Authorization"] == "Bearer s3cr3t-token"
    assert "s3cr3t" not in str(caught.value)
    monkeypatch.delenv("MLFLOW_TRACKING_TOKEN")
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "ml")
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", "pw")
    with pytest.raises(StorageError):
        Registry().version(CHAMPION)
    assert server.asked[-1][1]["Authorization"] == "Basic bWw6cHc="  # ml:pw


def test_proxied_artifacts_are_read_through_the_tracking_server() -> None:
    assert _proxied("mlflow-artifacts:/1/abc/artifacts/driftline/profile.json") == (
        "/api/2.0/mlflow-artifacts/artifacts/1/abc/artifacts/driftline/profile.json"
    )
    assert _proxied("mlflow-artifacts://mlflow:5000/1/abc/artifacts/p.json") == (
        "/api/2.0/mlflow-artifacts/artifacts/1/abc/artifacts/p.json"
    )


@pytest.mark.parametrize(
    "uri", ["models:/churn-model@champion", "models:/churn-model/3", "models:/Churn Model.v2@prod-eu"]
)
def test_reference_profile_takes_a_registry_reference_as_it_is(uri: str) -> None:
    document = config_dict()
    document["models"][0]["reference"]["profile"] = uri
    assert parse_config(document, "/somewhere").models[0].reference.profile == uri
    assert str(RegistryReference.parse(uri)) == uri


@pytest.mark.parametrize("uri", ["models:/churn-model", "models:/a/b/1", "models:/x@", "models:/x/0", "models:/x@a b"])
def test_a_malformed_registry_reference_is_a_config_error(uri: str) -> None:
    document = config_dict()
    document["models"][0]["reference"]["profile"] = uri
    with pytest.raises(
        ConfigError, match=r"models\[0\]\.reference\.profile: .*models:/NAME/VERSION or models:/NAME@ALIAS"
    ):
        parse_config(document, "/somewhere")


def test_each_serving_version_can_name_its_reference_through_the_registry() -> None:
    """``models:/NAME/{version}``: each serving version reads the profile its registry version carries; a version
    listed under versions.references may name a registry version or alias as well."""
    document = config_dict()
    model = document["models"][0]
    model["reference"]["profile"] = "models:/churn-model/{version}"
    model["versions"] = {"source": "annotation", "name": "serving.kserve.io/model-version",
                         "references": {"canary": "models:/churn-model@challenger"}}  # fmt: skip
    versions = parse_config(document, "/somewhere").models[0].versions
    assert versions is not None
    assert versions.reference_of("7", "models:/churn-model/{version}") == "models:/churn-model/7"
    assert versions.reference_of("canary", "models:/churn-model/{version}") == "models:/churn-model@challenger"
