"""The cluster configs in ``cluster/deploy``: valid for Ray's autoscaler and KubeRay, and pointing
at commands and application builders that exist.

``ray up`` files go through Ray's own ``prepare_config`` and ``validate_config`` (its JSON schema).
KubeRay's CRDs are not installable here, so the KubeRay manifests are checked against the field
names of KubeRay's v1 API types (``ray-operator/apis/ray/v1``) for every part KubeRay defines; a
misspelt field (silently dropped by the API server) fails the test. The RayService's
``serveConfigV2`` is parsed with Ray Serve's own config schema and its builder is called.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import typer
import yaml

from core.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "cluster" / "deploy"

# The fields of KubeRay's v1 types that raydesk's manifests may use (facts from the Go types).
CLUSTER_SPEC = {
    "upgradeStrategy", "authOptions", "suspend", "managedBy", "autoscalerOptions",
    "headServiceAnnotations", "enableInTreeAutoscaling", "gcsFaultToleranceOptions",
    "headGroupSpec", "rayVersion", "workerGroupSpecs",
}  # fmt: skip
GCS_FT = {"redisUsername", "redisPassword", "externalStorageNamespace", "redisAddress"}
HEAD_GROUP = {
    "template", "headService", "enableIngress", "rayStartParams", "serviceType", "resources", "labels",
}  # fmt: skip
WORKER_GROUP = {
    "suspend", "groupName", "replicas", "minReplicas", "maxReplicas", "idleTimeoutSeconds",
    "rayStartParams", "template", "scaleStrategy", "resources", "labels",
}  # fmt: skip
JOB_SPEC = {
    "activeDeadlineSeconds", "backoffLimit", "rayClusterSpec", "submitterPodTemplate", "metadata",
    "clusterSelector", "submitterConfig", "managedBy", "deletionStrategy", "entrypoint",
    "runtimeEnvYAML", "jobId", "submissionMode", "entrypointResources", "entrypointNumCpus",
    "entrypointNumGpus", "ttlSecondsAfterFinished", "preRunningDeadlineSeconds",
    "shutdownAfterJobFinishes", "suspend",
}  # fmt: skip
SERVICE_SPEC = {
    "rayClusterDeletionDelaySeconds", "serviceUnhealthySecondThreshold",
    "deploymentUnhealthySecondThreshold", "serveService", "upgradeStrategy", "managedBy",
    "serveConfigV2", "rayClusterConfig", "excludeHeadPodFromServeSvc",
}  # fmt: skip
SUBMISSION_MODES = {"K8sJobMode", "HTTPMode", "InteractiveMode", "SidecarMode"}


def _load(name: str) -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load((DEPLOY / name).read_text())
    return doc


def _unknown(section: Mapping[str, Any], allowed: set[str], where: str) -> list[str]:
    return [f"{where}.{key}" for key in section if key not in allowed]


def _cluster_errors(spec: Mapping[str, Any], where: str) -> list[str]:
    errors = _unknown(spec, CLUSTER_SPEC, where)
    errors += _unknown(spec.get("gcsFaultToleranceOptions", {}), GCS_FT, f"{where}.gcsFaultToleranceOptions")
    head = spec["headGroupSpec"]
    errors += _unknown(head, HEAD_GROUP, f"{where}.headGroupSpec")
    groups = [("headGroupSpec", head)]
    for i, group in enumerate(spec.get("workerGroupSpecs", [])):
        errors += _unknown(group, WORKER_GROUP, f"{where}.workerGroupSpecs[{i}]")
        if not group["minReplicas"] <= group["replicas"] <= group["maxReplicas"]:
            errors.append(f"{where}.workerGroupSpecs[{i}]: replicas outside [minReplicas, maxReplicas]")
        groups.append((group["groupName"], group))
    for name, group in groups:
        if not isinstance(group["rayStartParams"], dict) or not all(
            isinstance(v, str) for v in group["rayStartParams"].values()
        ):
            errors.append(f"{where}.{name}.rayStartParams: a map of strings")
        containers = group["template"]["spec"]["containers"]
        if not containers or not all({"name", "image"} <= set(c) for c in containers):
            errors.append(f"{where}.{name}: every container needs a name and an image")
    return errors


@pytest.mark.parametrize("name", ["ray-up/local.yaml", "ray-up/aws.yaml"])
def test_ray_up_configs_pass_rays_autoscaler_schema(name: str) -> None:
    from ray.autoscaler._private.util import prepare_config, validate_config

    config = prepare_config(_load(name))
    validate_config(config)  # raises on any field outside Ray's schema
    assert config["cluster_name"] == "raydesk"
    head_start = " ".join(config["head_start_ray_commands"])
    assert "--dashboard-host=127.0.0.1" in head_start, "the dashboard stays on loopback"


def test_a_misspelt_ray_up_field_is_caught() -> None:
    import jsonschema
    from ray.autoscaler._private.util import prepare_config, validate_config

    config = _load("ray-up/aws.yaml")
    config["idle_timeout_minute"] = 5
    with pytest.raises(jsonschema.ValidationError):
        validate_config(prepare_config(config))


def test_desk_cluster_has_gcs_fault_tolerance_on_an_external_redis() -> None:
    doc = _load("kuberay/raycluster-desk.yaml")
    assert (doc["apiVersion"], doc["kind"]) == ("ray.io/v1", "RayCluster")
    assert _cluster_errors(doc["spec"], "spec") == []
    ft = doc["spec"]["gcsFaultToleranceOptions"]
    assert ft["redisAddress"].startswith("redis://")
    assert "secretKeyRef" in ft["redisPassword"]["valueFrom"], "the Redis password comes from a Secret"
    groups = [doc["spec"]["headGroupSpec"], *doc["spec"]["workerGroupSpecs"]]
    for group in groups:
        for container in group["template"]["spec"]["containers"]:
            env = {e["name"]: e for e in container["env"]}
            # every node shares one ledger and one Redis, reached by URLs held in Secrets
            for name in ("RAYDESK_LEDGER__URL", "RAYDESK_REDIS__URL"):
                assert "secretKeyRef" in env[name]["valueFrom"], f"{container['name']}: {name}"
            assert "RAYDESK_LEDGER__PATH" not in env


def test_training_job_runs_an_existing_train_command_and_tears_down() -> None:
    from cluster.cli.main import app

    doc = _load("kuberay/rayjob-training.yaml")
    assert (doc["apiVersion"], doc["kind"]) == ("ray.io/v1", "RayJob")
    spec = doc["spec"]
    assert _unknown(spec, JOB_SPEC, "spec") == []
    assert spec["submissionMode"] in SUBMISSION_MODES
    assert spec["shutdownAfterJobFinishes"] is True
    assert _cluster_errors(spec["rayClusterSpec"], "spec.rayClusterSpec") == []
    argv = shlex.split(spec["entrypoint"])
    assert argv[0] == "raydesk"
    command = typer.main.get_command(app)
    # Parsing with the real CLI: an unknown option or command raises a usage error.
    with command.make_context("raydesk", argv[1:2], resilient_parsing=True) as ctx:
        sub = command.get_command(ctx, argv[1])  # type: ignore[attr-defined]
        assert sub is not None
        sub.make_context(argv[1], argv[2:])


def _service() -> tuple[dict[str, Any], dict[str, Any]]:
    doc = _load("kuberay/rayservice-scoring.yaml")
    return doc, yaml.safe_load(doc["spec"]["serveConfigV2"])


def test_scoring_service_config_passes_serves_schema() -> None:
    from ray.serve.schema import ServeDeploySchema

    doc, serve_config = _service()
    assert (doc["apiVersion"], doc["kind"]) == ("ray.io/v1", "RayService")
    assert _unknown(doc["spec"], SERVICE_SPEC, "spec") == []
    assert _cluster_errors(doc["spec"]["rayClusterConfig"], "spec.rayClusterConfig") == []
    schema = ServeDeploySchema.model_validate(serve_config)
    assert [app.import_path for app in schema.applications] == ["serving.deploy:build_app"]


def test_scoring_builder_refuses_an_open_port_without_a_token(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ray.serve import Application

    from serving.deploy import build_app

    _, serve_config = _service()
    args = {**serve_config["applications"][0]["args"], "registry_root": str(tmp_path)}
    monkeypatch.delenv("RAYDESK_SERVE__TOKEN", raising=False)
    with pytest.raises(ConfigError, match=r"serve\.host"):
        build_app(args)
    monkeypatch.setenv("RAYDESK_SERVE__TOKEN", "s3cret-token")
    app = build_app(args)
    assert isinstance(app, Application)
    with pytest.raises(ConfigError, match="unknown"):
        build_app({**args, "tokn": "x"})
