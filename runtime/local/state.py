"""What the rehearsal's actions share: the plan, the work dir's layout, the stand-in processes, and what earlier
actions handed on (exported variables, output artifacts, the image digest)."""

from __future__ import annotations

import json
import subprocess
import threading
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from runtime.local.faults import Faults
from runtime.local.plan import Plan
from runtime.local.processes import ManagedProcess, ProcessGroup, stop_session

#: One math-library thread per process: in the cloud every build and task has its own CPUs, here a dozen processes
#: share the machine's, and spinning BLAS/OpenMP threads would make every latency check measure the contention.
ONE_THREAD = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
#: Bucket names of the rehearsal (in the moto server only): the pipeline stack's data and models buckets, and the
#: promotion target's data bucket (its reference profile).
DATA_BUCKET = "mlcicd-local-data"
MODELS_BUCKET = "mlcicd-local-models"
TARGET_DATA_BUCKET = "mlcicd-local-target-data"


class StandInFailed(Exception):
    """A stand-in's check did not pass (the canary, the rollout): the action stops with this verdict."""

    def __init__(self, verdict: str, reason: str, report: Path | None = None) -> None:
        super().__init__(reason)
        self.verdict = verdict
        self.reason = reason
        self.report = report


@dataclass
class Rehearsal:
    plan: Plan
    workdir: Path
    faults: Faults
    group: ProcessGroup
    execution_id: str
    moto: ManagedProcess | None = None
    servers: dict[str, ManagedProcess] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)
    """Role (champion, candidate) -> model version."""
    exports: dict[str, dict[str, str]] = field(default_factory=dict)
    """Namespace -> exported variables (`#{Train.MODEL_VERSION}`)."""
    outputs: dict[str, Path] = field(default_factory=dict)
    """Output artifact name -> directory (`$CODEBUILD_SRC_DIR_<name>` of later actions)."""
    image_digest: str | None = None
    promoted: str | None = None
    """The version the promotion pinned: the champion from then on (merging the pull request stands in)."""
    canary_window: tuple[datetime, datetime] | None = None
    """When the canary's judged traffic began and ended (the drift job judges what was captured in between)."""
    facts: dict[str, str] = field(default_factory=dict)
    running: set[subprocess.Popen[bytes]] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    # Layout ---------------------------------------------------------------------------------------------------
    @property
    def tracking_uri(self) -> str:
        return f"sqlite:///{self.workdir / 'mlflow.db'}"

    @property
    def artifacts(self) -> Path:
        return self.workdir / "artifacts"

    @property
    def snapshot(self) -> Path:
        return self.workdir / "source"

    @property
    def reports(self) -> Path:
        return self.workdir / "reports"

    @property
    def logs(self) -> Path:
        return self.workdir / "logs"

    def checkout_dir(self, action: str) -> Path:
        return self.workdir / "actions" / action

    # Environment ----------------------------------------------------------------------------------------------
    def aws_env(self) -> dict[str, str]:
        """moto's endpoint with dummy credentials; the user's AWS config files are replaced by empty ones, so
        nothing here can reach a real account."""
        assert self.moto is not None
        empty = self.workdir / "aws" / "empty"
        empty.parent.mkdir(parents=True, exist_ok=True)
        empty.touch()
        region = self.plan.hosting.region
        return {"AWS_ENDPOINT_URL": self.moto.url, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                "AWS_DEFAULT_REGION": region, "AWS_REGION": region, "AWS_CONFIG_FILE": str(empty),
                "AWS_SHARED_CREDENTIALS_FILE": str(empty)}

    def aws_clients(self, region: str | None = None) -> Any:
        """Clients of the moto server (bounded retries, dummy credentials): `clients("s3")`. Default region: the
        hosting stack's (what the actions' environment names)."""
        from runtime.aws import boto3_clients

        assert self.moto is not None
        return boto3_clients(region or self.plan.hosting.region, self.moto.url, credentials=("testing", "testing"),
                             max_attempts=2)

    def stop_commands(self) -> None:
        """Stop every action command still running (an interrupt in another thread)."""
        with self.lock:
            running = list(self.running)
        for proc in running:
            if proc.poll() is None:
                stop_session(proc)

    def write_outputs_json(self, path: Path, outputs: dict[str, Any]) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(outputs, indent=2) + "\n", encoding="utf-8")
