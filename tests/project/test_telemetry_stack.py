"""The telemetry stack of compose.yaml (issue 25.5): collector, Tempo, Prometheus and Grafana,
their configuration files in deploy/, and the Orchestra dashboard.

No Docker engine, collector or Grafana runs here, so each file is checked by its shape (the
parts each program reads, as their references define them) and against one another: every
address one names is one the other listens on, every pipeline names components defined,
and every series the dashboard queries is one the app exports (its own /metrics page,
rendered here, names them as the collector's Prometheus exporter does)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import generate_latest

from bot.telemetry.setup import TelemetryConfig, start_telemetry

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
DASHBOARD = DEPLOY / "grafana" / "dashboards" / "orchestra.json"
STACK = ("otel-collector", "tempo", "prometheus", "grafana")


def load(path: Path) -> dict[str, Any]:
    loaded = yaml.safe_load(path.read_text())
    assert isinstance(loaded, dict), path
    return loaded


def services() -> dict[str, Any]:
    found: dict[str, Any] = load(ROOT / "compose.yaml")["services"]
    return found


def mounts(service: str) -> dict[str, str]:
    """A service's bind mounts of repository files: container path -> repository path."""
    found = {}
    for volume in services()[service].get("volumes", []):
        source, target, *_ = str(volume).split(":")
        if source.startswith("./"):
            found[target] = source
    return found


def repo_file(service: str, target: str) -> Path:
    """The repository file mounted at `target` in `service`."""
    return ROOT / mounts(service)[target]


def port_of(address: str) -> int:
    return int(address.rsplit(":", 1)[1])


def test_compose_runs_the_stack_on_pinned_images_and_the_replicas_export_to_it() -> None:
    found = services()
    for name in STACK:
        image = found[name]["image"]
        assert ":" in image, name
        assert not image.endswith(":latest"), name
    env = found["app"]["environment"]
    assert env["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://otel-collector:4318"
    assert env["OTEL_SERVICE_NAME"] == "orchestra"
    # Only loopback on the host: the UIs are for the operator at this machine.
    for name in ("prometheus", "grafana"):
        for published in found[name]["ports"]:
            assert str(published).startswith("127.0.0.1:"), name
    named = set(load(ROOT / "compose.yaml")["volumes"])
    for service in found.values():
        for volume in service.get("volumes", []):
            source = str(volume).split(":")[0]
            if source.startswith("./"):
                assert (ROOT / source).exists(), source  # every file mounted is in the repo
            else:
                assert source in named, source


def test_the_collector_receives_otlp_http_where_the_app_sends_it() -> None:
    config = load(repo_file("otel-collector", "/etc/otelcol-contrib/config.yaml"))
    command = services()["otel-collector"]["command"]
    assert "--config=/etc/otelcol-contrib/config.yaml" in command
    http = config["receivers"]["otlp"]["protocols"]["http"]
    app_endpoint = services()["app"]["environment"]["OTEL_EXPORTER_OTLP_ENDPOINT"]
    assert port_of(http["endpoint"]) == port_of(app_endpoint)
    for signal, pipeline in config["service"]["pipelines"].items():
        assert signal.split("/")[0] in ("traces", "metrics", "logs")
        for kind in ("receivers", "processors", "exporters"):
            for component in pipeline.get(kind, []):
                assert component in config[kind], f"{signal}: {kind} {component}"
    assert set(config["service"]["pipelines"]) == {"traces", "metrics"}


def test_traces_reach_tempo_and_metrics_reach_prometheus() -> None:
    config = load(repo_file("otel-collector", "/etc/otelcol-contrib/config.yaml"))
    pipelines = config["service"]["pipelines"]
    (traces,) = pipelines["traces"]["exporters"]
    tempo_endpoint = config["exporters"][traces]["endpoint"]
    assert tempo_endpoint.split(":")[0] == "tempo"
    tempo = load(repo_file("tempo", "/etc/tempo/tempo.yaml"))
    grpc = tempo["distributor"]["receivers"]["otlp"]["protocols"]["grpc"]
    assert port_of(grpc["endpoint"]) == port_of(tempo_endpoint)
    assert traces.split("/")[0] == "otlp"  # gRPC, which Tempo receives

    (metrics,) = pipelines["metrics"]["exporters"]
    assert metrics == "prometheus"
    served = port_of(config["exporters"]["prometheus"]["endpoint"])
    prometheus = load(repo_file("prometheus", "/etc/prometheus/prometheus.yml"))
    targets = [
        target
        for job in prometheus["scrape_configs"]
        for static in job["static_configs"]
        for target in static["targets"]
    ]
    assert f"otel-collector:{served}" in targets


def datasources() -> dict[str, dict[str, Any]]:
    provisioning = repo_file("grafana", "/etc/grafana/provisioning")
    config = load(provisioning / "datasources" / "datasources.yaml")
    assert config["apiVersion"] == 1
    return {source["uid"]: source for source in config["datasources"]}


def test_grafana_reads_prometheus_and_tempo_and_loads_the_dashboard() -> None:
    sources = datasources()
    assert sources["prometheus"]["type"] == "prometheus"
    assert sources["prometheus"]["url"] == "http://prometheus:9090"
    assert sources["tempo"]["type"] == "tempo"
    tempo = load(repo_file("tempo", "/etc/tempo/tempo.yaml"))
    assert sources["tempo"]["url"] == f"http://tempo:{tempo['server']['http_listen_port']}"
    provisioning = repo_file("grafana", "/etc/grafana/provisioning")
    (provider,) = load(provisioning / "dashboards" / "dashboards.yaml")["providers"]
    assert provider["type"] == "file"
    assert repo_file("grafana", provider["options"]["path"]) == DASHBOARD.parent
    home = services()["grafana"]["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert home == f"{provider['options']['path']}/{DASHBOARD.name}"


def dashboard() -> dict[str, Any]:
    loaded = json.loads(DASHBOARD.read_text())
    assert isinstance(loaded, dict)
    return loaded


# The panel types Grafana 11 ships that this dashboard may use.
PANEL_TYPES = {"timeseries", "stat", "table", "gauge", "bargauge", "text", "traces"}


def test_the_dashboard_has_grafana_s_dashboard_shape() -> None:
    board = dashboard()
    assert board["uid"] == "orchestra"
    assert board["title"]
    assert isinstance(board["schemaVersion"], int)
    assert board["schemaVersion"] >= 36  # panels with datasource objects
    panels = board["panels"]
    assert len({p["id"] for p in panels}) == len(panels)
    sources = datasources()
    cells: set[tuple[int, int]] = set()
    for panel in panels:
        assert panel["type"] in PANEL_TYPES, panel["title"]
        assert panel["title"]
        grid = panel["gridPos"]
        assert grid["x"] >= 0, panel["title"]
        assert grid["x"] + grid["w"] <= 24, panel["title"]  # Grafana's 24 columns
        area = {
            (x, y)
            for x in range(grid["x"], grid["x"] + grid["w"])
            for y in range(grid["y"], grid["y"] + grid["h"])
        }
        assert not area & cells, f"{panel['title']} overlaps another panel"
        cells |= area
        assert panel["datasource"]["uid"] in sources
        ref_ids = [t["refId"] for t in panel["targets"]]
        assert len(set(ref_ids)) == len(ref_ids) > 0
        for target in panel["targets"]:
            uid = target["datasource"]["uid"]
            assert sources[uid]["type"] == target["datasource"]["type"]


@pytest.fixture(scope="module")
def exported() -> dict[str, set[str]]:
    """Every series the app exports, with its labels, as a Prometheus scrape names them: its
    own /metrics page with every instrument recorded once."""
    telemetry = start_telemetry(TelemetryConfig(prometheus=True, environ={}))
    meters = telemetry.meters
    meters.token_usage.record(1, {"gen_ai.token.type": "input", "gen_ai.request.model": "m"})
    meters.operation_duration.record(
        1, {"gen_ai.request.model": "m", "gen_ai.response.model": "m", "error.type": "x"}
    )
    meters.runs.add(1, {"outcome": "succeeded"})
    meters.run_duration.record(1, {"outcome": "succeeded"})
    meters.queue_length.add(0)
    meters.queue_wait.record(1)
    meters.live_runs.add(0)
    meters.cost.add(1, {"orchestra.workspace": "T", "orchestra.channel": "C"})
    meters.slack_calls.add(1, {"slack.method": "chat.postMessage"})
    meters.slack_rate_limited.add(1, {"slack.method": "chat.postMessage"})
    meters.budget_refusals.add(1)
    meters.takeovers.add(1)
    assert telemetry.scrape is not None
    page = generate_latest(telemetry.scrape).decode()
    telemetry.shutdown()
    series: dict[str, set[str]] = {}
    for line in page.splitlines():
        match = re.match(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? ", line)
        if match and not line.startswith("#"):
            labels = set(re.findall(r"([a-zA-Z_][a-zA-Z0-9_]*)=\"", match.group(2) or ""))
            series.setdefault(match.group(1), set()).update(labels)
    return series


PROMQL_WORDS = {
    "sum",
    "by",
    "rate",
    "increase",
    "histogram_quantile",
    "le",
    "without",
    "avg",
    "max",
}


def test_every_series_the_dashboard_queries_is_one_the_app_exports(
    exported: dict[str, set[str]],
) -> None:
    queried = 0
    for panel in dashboard()["panels"]:
        for target in panel["targets"]:
            if target["datasource"]["type"] != "prometheus":
                continue
            expr = re.sub(r"\$__\w+|\[[^\]]*\]|\"[^\"]*\"", "", target["expr"])
            names = set(re.findall(r"[a-zA-Z_][a-zA-Z0-9_]*", expr)) - PROMQL_WORDS
            metrics = {n for n in names if n in exported}
            assert metrics, f"{panel['title']}: no exported series in {target['expr']}"
            labels = set().union(*(exported[m] for m in metrics))
            unknown = names - metrics - labels
            assert not unknown, f"{panel['title']}: {unknown} neither a series nor a label"
            queried += 1
    assert queried >= 10


def test_the_dashboard_answers_the_operator_s_questions(exported: dict[str, set[str]]) -> None:
    text = DASHBOARD.read_text()
    for series in (
        "orchestra_runs_total",  # runs by outcome
        "orchestra_run_duration_seconds_bucket",  # did the last deploy make runs slower?
        "orchestra_cost_USD_total",  # spend per channel
        "orchestra_slack_rate_limited_total",  # near Slack's limits?
        "gen_ai_client_operation_duration_seconds_count",  # near Anthropic's?
        "orchestra_queue_length",
        "orchestra_runs_live",
    ):
        assert series in exported, series
        assert series in text, series
    tempo = [p for p in dashboard()["panels"] if p["datasource"]["type"] == "tempo"]
    assert tempo, "a panel of the runs' traces"
    assert "invoke_agent orchestra" in tempo[0]["targets"][0]["query"]  # the runs' roots
