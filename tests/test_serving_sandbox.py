"""The serving command starts and serves in its container's conditions: as RUN_AS_UID, with a read-only root
filesystem and only the declared writable paths (bubblewrap, tests/sandbox.py), from the image's package layout
(the copied `runtime/serving/` alone on PYTHONPATH), serving /ping and /invocations for a real MLflow model."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from runtime.local.processes import ManagedProcess, free_port
from runtime.serving import command, image
from runtime.serving.settings import CaptureSettings
from tests.capture_aws import aws_env, create_stream, delivered
from tests.models import IRIS_PREDICTIONS, IRIS_ROWS, iris_request, save_iris_model
from tests.sandbox import require_bwrap, sandbox_prefix

STREAM = "sandboxed-captures"
#: Paths the sandboxed process tries to write: the image's directories, the host's, logs and state (nginx's).
MUST_BE_READ_ONLY = ("/opt/ml/model/x", "/opt/mlcicd/x", "/opt/x", "/var/log/x", "/var/lib/x", "/etc/x",
                     "/usr/x", "/root/x", "/dev/shm/x", str(Path(__file__).resolve().parent / "x"))


@pytest.fixture(scope="module")
def layout(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(package root, model dir): the image layout, world-readable like an image's files."""
    require_bwrap()
    root = tmp_path_factory.mktemp("image")
    save_iris_model(root / "model")
    image.copy_package(root / "mlcicd")
    for path in [root, *root.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    return root / "mlcicd", root / "model"


def _env() -> dict[str, str]:
    env = command.serving_environment(model_name="iris", model_version="1", image_digest="sha256:" + "0" * 64,
                                      variant="baseline")
    return {**env, "PYTHONPATH": command.PACKAGE_ROOT, "PATH": "/usr/local/bin:/usr/bin:/bin"}


def test_only_the_declared_paths_are_writable_and_the_user_is_not_root(layout: tuple[Path, Path]) -> None:
    package, model = layout
    probe = ("import json, os, sys\n"
             "out = {'uid': os.getuid(), 'gid': os.getgid(), 'writable': []}\n"
             "for p in sys.argv[1:]:\n"
             "    try:\n"
             "        open(p, 'w').close(); out['writable'].append(p)\n"
             "    except OSError:\n"
             "        pass\n"
             "import runtime.serving.app as app\n"
             "out['app'] = app.__file__\n"
             "print(json.dumps(out))\n")
    targets = [*MUST_BE_READ_ONLY, *(f"{w.path}/probe" for w in command.WRITABLE_PATHS)]
    done = subprocess.run([*sandbox_prefix(package_root=package, model_dir=model, env=_env()), sys.executable, "-c",
                           probe, *targets], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    assert (seen["uid"], seen["gid"]) == (command.RUN_AS_UID, command.RUN_AS_UID) != (0, 0)
    assert seen["writable"] == [f"{w.path}/probe" for w in command.WRITABLE_PATHS]
    # The server code is the image's copy, not this checkout: the package needs nothing else of the runtime.
    assert seen["app"] == f"{command.PACKAGE_ROOT}/runtime/serving/app.py"


@pytest.fixture(scope="module")
def sandboxed_server(layout: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory,
                     moto_url: str) -> Iterator[str]:
    """The server with capture on (to a moto Firehose stream): the capture layer needs no writable path either."""
    package, model = layout
    port = free_port()
    create_stream(moto_url, STREAM)
    capture = CaptureSettings(stream=STREAM, region="eu-west-1", flush_seconds=0.2).to_env()
    argv = [*sandbox_prefix(package_root=package, model_dir=model, env={**_env(), **capture, **aws_env(moto_url)}),
            *command.serve_argv(port=port, host="127.0.0.1", python=sys.executable)]
    server = ManagedProcess("sandboxed scoring server", argv, port,
                            tmp_path_factory.mktemp("logs") / "serve.log").start()
    try:
        server.wait_ready("/ping", 120)
        yield server.url
    finally:
        server.stop()


@pytest.mark.slow
def test_serving_command_serves_ping_and_invocations_in_the_sandbox(sandboxed_server: str) -> None:
    assert httpx.get(sandboxed_server + "/ping", timeout=5).status_code == 200
    answer = httpx.post(sandboxed_server + "/invocations", json=iris_request(IRIS_ROWS), timeout=10)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"predictions": IRIS_PREDICTIONS}
    bad = httpx.post(sandboxed_server + "/invocations", json={"dataframe_split": {"columns": ["x"], "data": [[1]]}},
                     timeout=10)
    assert bad.status_code == 400  # MLflow's own schema enforcement, unchanged behind the serving command


@pytest.mark.slow
def test_the_sandboxed_server_captures_without_writing(sandboxed_server: str, moto_url: str) -> None:
    answer = httpx.post(sandboxed_server + "/invocations", json=iris_request(), timeout=10)
    assert answer.status_code == 200
    ident = answer.headers["x-inference-id"]
    deadline = time.monotonic() + 10
    while ident not in {r["inference_id"] for r in delivered(moto_url, STREAM)}:
        assert time.monotonic() < deadline, "the sandboxed server's capture did not reach the stream"
        time.sleep(0.2)


def test_image_entrypoint_is_the_serving_command(tmp_path: Path) -> None:
    generated = "FROM python:3.11-slim\nCOPY model /opt/ml/model\nENTRYPOINT [\"python\", \"-c\", \"nginx\"]\n"
    (tmp_path / "Dockerfile").write_text(generated, encoding="utf-8")
    dockerfile = image.finish_dockerfile(tmp_path).read_text(encoding="utf-8")
    image.finish_dockerfile(tmp_path)  # idempotent
    assert (tmp_path / "Dockerfile").read_text(encoding="utf-8") == dockerfile
    lines = dockerfile.splitlines()
    entrypoints = [line for line in lines if line.startswith("ENTRYPOINT ")]
    assert json.loads(entrypoints[-1].removeprefix("ENTRYPOINT ")) == command.serve_argv()  # Docker: last wins
    assert f"USER {command.RUN_AS_UID}:{command.RUN_AS_UID}" in lines
    assert lines.index(f"USER {command.RUN_AS_UID}:{command.RUN_AS_UID}") > max(
        i for i, line in enumerate(lines) if line.startswith("RUN "))  # installs run as root, the server does not
    copied = sorted(p.relative_to(tmp_path / image.CONTEXT_DIR).as_posix()
                    for p in (tmp_path / image.CONTEXT_DIR).rglob("*.py"))
    assert copied == sorted(relative for _, relative in image.package_files())
    assert "runtime/serving/command.py" in copied


def test_finish_dockerfile_needs_the_generated_dockerfile(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="generate-dockerfile"):
        image.finish_dockerfile(tmp_path)


def test_cli_finishes_the_dockerfile_or_names_the_missing_step(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from runtime.cli.main import app

    runner = CliRunner()
    missing = runner.invoke(app, ["serve", "dockerfile", "--context", str(tmp_path)])
    assert missing.exit_code == 2
    assert "generate-dockerfile" in missing.output
    (tmp_path / "Dockerfile").write_text("FROM python:3.11-slim\n", encoding="utf-8")
    done = runner.invoke(app, ["serve", "dockerfile", "--context", str(tmp_path), "--port", "9000"])
    assert done.exit_code == 0, done.output
    assert json.dumps(command.serve_argv(port=9000)) in (tmp_path / "Dockerfile").read_text(encoding="utf-8")
