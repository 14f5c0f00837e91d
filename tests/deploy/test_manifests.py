"""The deployment files validate without a cluster: yamllint, kubernetes-validate against its
bundled schemas for the core kinds, and structural checks of the CloudNativePG resources and of
what production needs (probes, autoscalers, disruption budgets, non-root, secrets from outside)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from yamllint import linter
from yamllint.config import YamlLintConfig

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
K8S = DEPLOY / "k8s"
KUBERNETES_VERSION = "1.31.0"
CRD_KINDS = {"Cluster", "ScheduledBackup", "Pooler", "Kustomization"}


def _documents() -> list[tuple[str, dict[str, Any]]]:
    found = []
    for path in sorted(K8S.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc:
                found.append((path.name, doc))
    return found


def _by_kind(kind: str) -> list[dict[str, Any]]:
    return [doc for _, doc in _documents() if doc["kind"] == kind]


def _named(kind: str, name: str) -> dict[str, Any]:
    return next(doc for doc in _by_kind(kind) if doc["metadata"]["name"] == name)


@pytest.mark.parametrize(
    "path",
    sorted([*DEPLOY.rglob("*.yaml"), *DEPLOY.rglob("*.yml")]),
    ids=lambda p: str(p.relative_to(DEPLOY)),
)
def test_yaml_is_lint_clean(path: Path) -> None:
    config = YamlLintConfig(file=str(DEPLOY / ".yamllint.yaml"))
    problems = [str(p) for p in linter.run(path.read_text(), config)]
    assert problems == []


@pytest.mark.parametrize(
    ("name", "doc"),
    [(f"{f}:{d['kind']}/{d['metadata']['name']}", d) for f, d in _documents()
     if d["kind"] not in CRD_KINDS],
    ids=lambda v: v if isinstance(v, str) else "",
)  # fmt: skip
def test_core_kinds_validate_against_the_kubernetes_schemas(name: str, doc: dict[str, Any]) -> None:
    kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)


def test_invalid_manifest_is_rejected_by_the_validator() -> None:
    """The validator really checks: a Deployment with a misspelt field fails."""
    doc = _named("Deployment", "lms-web")
    broken = {**doc, "spec": {**doc["spec"], "replicaz": 3}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES_VERSION, strict=True)


def test_every_http_deployment_probes_healthz_and_runs_as_non_root() -> None:
    for name in ["lms-web", "lms-websocket"]:
        pod = _named("Deployment", name)["spec"]["template"]["spec"]
        container = pod["containers"][0]
        assert container["readinessProbe"]["httpGet"]["path"] == "/healthz"
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    for workload in _by_kind("Deployment") + _by_kind("Job"):
        pod = workload["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        for container in pod["containers"]:
            assert container["securityContext"]["allowPrivilegeEscalation"] is False
            assert "memory" in container["resources"]["limits"]


def test_web_and_workers_autoscale_and_keep_a_disruption_budget() -> None:
    targets = {h["spec"]["scaleTargetRef"]["name"] for h in _by_kind("HorizontalPodAutoscaler")}
    assert {"lms-web", "lms-worker"} <= targets
    budgets = {
        p["spec"]["selector"]["matchLabels"]["app.kubernetes.io/component"]
        for p in _by_kind("PodDisruptionBudget")
    }
    assert {"web", "websocket", "worker"} <= budgets
    assert _named("Deployment", "lms-beat")["spec"]["replicas"] == 1
    assert _named("Deployment", "lms-beat")["spec"]["strategy"]["type"] == "Recreate"


def test_ingress_sends_websockets_to_daphne_and_the_rest_to_the_web() -> None:
    ingress = _named("Ingress", "lms")
    paths = {
        p["path"]: p["backend"]["service"]["name"]
        for rule in ingress["spec"]["rules"]
        for p in rule["http"]["paths"]
    }
    assert paths == {"/ws/": "lms-websocket", "/": "lms-web"}
    assert (
        int(ingress["metadata"]["annotations"]["nginx.ingress.kubernetes.io/proxy-read-timeout"])
        >= 3600
    )


def test_migration_job_runs_migrate_against_the_primary() -> None:
    job = _named("Job", "lms-migrate")
    container = job["spec"]["template"]["spec"]["containers"][0]
    assert container["args"][-1].endswith("python manage.py migrate --noinput")
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"


def test_cloudnativepg_cluster_has_a_replica_and_backups() -> None:
    cluster = _named("Cluster", "lms-db")
    assert cluster["apiVersion"] == "postgresql.cnpg.io/v1"
    spec = cluster["spec"]
    assert spec["instances"] >= 2  # a primary and at least one streaming replica
    assert spec["affinity"]["enablePodAntiAffinity"] is True
    store = spec["backup"]["barmanObjectStore"]
    assert store["destinationPath"].startswith("s3://")
    assert set(store["s3Credentials"]) == {"accessKeyId", "secretAccessKey"}
    assert spec["backup"]["retentionPolicy"].endswith("d")
    assert spec["storage"]["size"].endswith("Gi")
    # a restarted or promoted instance reloads its shared buffers
    assert "pg_prewarm" in spec["postgresql"]["shared_preload_libraries"]
    backup = _named("ScheduledBackup", "lms-db-nightly")
    assert backup["spec"]["cluster"]["name"] == "lms-db"
    assert len(backup["spec"]["schedule"].split()) == 6  # CNPG schedules have seconds
    pooler = _named("Pooler", "lms-db-pooler-rw")
    assert pooler["spec"]["cluster"]["name"] == "lms-db"
    assert pooler["spec"]["pgbouncer"]["poolMode"] == "transaction"


def test_secrets_come_from_the_environment_not_from_the_repository() -> None:
    assert _by_kind("Secret") == []
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    generated = {g["name"]: g for g in kustomization["secretGenerator"]}
    assert generated["lms-secrets"]["envs"] == ["secrets.env"]
    assert not (K8S / "secrets.env").exists()
    listed = set(kustomization["resources"])
    assert listed == {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    for name in ["lms-web", "lms-worker", "lms-websocket", "lms-beat"]:
        container = _named("Deployment", name)["spec"]["template"]["spec"]["containers"][0]
        refs = [next(iter(ref.values()))["name"] for ref in container["envFrom"]]
        assert refs == ["lms-config", "lms-secrets"]


KEYS = {"LMS_CERTIFICATION_PDF_KEY", "LMS_CERTIFICATION_PDF_CERT", "LMS_CERTIFICATION_VC_KEY"}
DEPLOY_CHECK = "python manage.py check --deploy --fail-level ERROR && python manage.py migrate"


def test_every_application_process_gets_the_certificates_keys_and_the_check_comes_first() -> None:
    """The signing keys come from the deployment's secrets (the same for every process; an
    unset one stops compose with its name), and the migration step runs the deployment check
    (certification.E001: keys missing) before it migrates."""
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    for name in ["migrate", "web", "websocket", "worker", "beat"]:
        environment = compose["services"][name]["environment"]
        for key in KEYS:
            assert environment[key] == f"${{{key}:?set {key}}}"
    assert DEPLOY_CHECK in " ".join(compose["services"]["migrate"]["command"])
    job = _named("Job", "lms-migrate")["spec"]["template"]["spec"]["containers"][0]
    assert DEPLOY_CHECK in " ".join(job["args"])
    assert [next(iter(ref.values()))["name"] for ref in job["envFrom"]] == [
        "lms-config",
        "lms-secrets",
    ]
    example = (K8S / "secrets.env.example").read_text()
    assert {line.split("=", 1)[0] for line in example.splitlines() if "=" in line} >= KEYS


def test_compose_file_has_every_role_and_websocket_proxying() -> None:
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    assert {"web", "websocket", "worker", "beat", "postgres", "pgbouncer", "redis", "nginx",
            "migrate"} <= set(compose["services"])  # fmt: skip
    assert "pgbouncer:6432" in compose["services"]["web"]["environment"]["DATABASE_URL"]
    nginx = (DEPLOY / "nginx" / "lms.conf").read_text()
    assert "proxy_set_header Upgrade $http_upgrade;" in nginx
    assert "location /ws/" in nginx


def test_uploaded_files_leave_nginx_only_once_the_application_allowed_them() -> None:
    """No public /media/ location (lms.media checks each file); the internal one answers the
    application's X-Accel-Redirect, whose prefix the web processes are given."""
    nginx = (DEPLOY / "nginx" / "lms.conf").read_text()
    assert "location /media/" not in nginx
    internal = nginx.split("location /protected-media/ {", 1)[1].split("}", 1)[0]
    assert "internal;" in internal
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    assert (
        compose["services"]["web"]["environment"]["LMS_MEDIA_ACCEL_PREFIX"] == "/protected-media/"
    )


def test_dockerfile_runs_as_non_root_with_static_files_and_catalogues() -> None:
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    assert "USER 10001" in dockerfile
    assert "collectstatic --noinput" in dockerfile
    assert "compile_catalogues" in dockerfile
    assert "libharfbuzz-subset0" in dockerfile


def test_the_pooled_deployments_keep_connections_and_no_server_side_cursors() -> None:
    """Both deployments reach PostgreSQL through PgBouncer in transaction mode: the processes
    say so (DB_TRANSACTION_POOLING: no cursor outlives its transaction) and keep their
    connection to the pooler between requests (DB_CONN_MAX_AGE above 0)."""
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    config = _named("ConfigMap", "lms-config")["data"]
    pooler = _by_kind("Pooler")[0]["spec"]["pgbouncer"]
    assert pooler["poolMode"] == "transaction"
    for name in ("web", "websocket", "worker", "beat"):
        environment = compose["services"][name]["environment"]
        assert "pgbouncer:6432" in environment["DATABASE_URL"]
        assert environment["DB_TRANSACTION_POOLING"] == "1"
        assert int(environment["DB_CONN_MAX_AGE"]) > 0
    assert config["DB_TRANSACTION_POOLING"] == "1"
    assert int(config["DB_CONN_MAX_AGE"]) > 0


def test_the_poolers_carry_the_prepared_statements_the_processes_send() -> None:
    """The processes prepare the lesson pages' queries (lms/db.py): each pooler tracks
    protocol-level prepared statements (PgBouncer's max_prepared_statements above 0), or a
    statement prepared on one server connection would be missing on the next."""
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    config = _named("ConfigMap", "lms-config")["data"]
    pooler = _by_kind("Pooler")[0]["spec"]["pgbouncer"]["parameters"]
    for name in ("web", "websocket", "worker", "beat"):
        assert compose["services"][name]["environment"]["DB_PREPARED_STATEMENTS"] == "1"
    assert config["DB_PREPARED_STATEMENTS"] == "1"
    assert int(compose["services"]["pgbouncer"]["environment"]["MAX_PREPARED_STATEMENTS"]) > 0
    assert int(pooler["max_prepared_statements"]) > 0
