"""MLflow users of the pipeline stages (self-hosted MLflow with basic auth): one user per stage that talks to
MLflow, each with the least permission its stage needs, and none of them the admin.

Permissions (MLflow's basic-auth app; the server's `default_permission` is READ, so every authenticated user can
read experiments, runs and registered models):
- a stage that only reads (Package builds the image from the registered version, Promote checks it exists) gets
  no grant at all;
- a stage that creates versions or moves tags and aliases (Train, ModelGate) gets EDIT on the stack's registered
  model only. MLflow has no finer permission: EDIT on a registered model both creates versions and sets aliases.
  Experiments a stage creates are its own (MLflow grants their creator MANAGE); an experiment created by someone
  else needs a grant by an admin.

How the users come to exist: the MLflow server's own task creates them at every start, before `mlflow server`
runs (`BOOTSTRAP_SCRIPT`, run by the container command). That task already holds the admin credentials (MLflow
creates the admin from them), so no other principal ever needs them: each stage's password is generated into its
own Secrets Manager secret, injected into the server task (to set it) and into that one stage's build (to use it).
At every start the script sets each stage user's password from its secret, clears any admin flag, and upserts the
grants listed here; it is idempotent, and tasks starting together tolerate each other.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass

#: Resource types and permissions of MLflow's basic-auth app that a stage may be granted.
RESOURCE_TYPES = frozenset({"experiment", "registered_model"})
PERMISSIONS = frozenset({"READ", "USE", "EDIT", "MANAGE", "NO_PERMISSIONS"})
#: Environment variable (in the server task) holding the JSON list of users and their grants (no secrets in it).
USERS_ENV = "MLCICD_STAGE_USERS"
#: Environment variable holding `BOOTSTRAP_SCRIPT` (run with `python -c "$MLCICD_STAGE_USERS_SCRIPT"`).
SCRIPT_ENV = "MLCICD_STAGE_USERS_SCRIPT"
_USERNAME = re.compile(r"^[a-z][a-z0-9-]{2,63}$")


@dataclass(frozen=True)
class StageUser:
    """One stage's MLflow user and its grants beyond the server's default READ."""

    username: str
    grants: tuple[tuple[str, str, str], ...] = ()
    """(resource type, resource name or id, permission), e.g. ("registered_model", "churn-classifier", "EDIT")."""

    def __post_init__(self) -> None:
        if not _USERNAME.match(self.username):
            raise ValueError(f"MLflow stage user {self.username!r}: lowercase letters, digits and hyphens, 3-64")
        for kind, name, permission in self.grants:
            if kind not in RESOURCE_TYPES or permission not in PERMISSIONS or not name:
                raise ValueError(f"MLflow stage user {self.username}: bad grant ({kind!r}, {name!r}, {permission!r})")
            if permission == "MANAGE":
                raise ValueError(f"MLflow stage user {self.username}: MANAGE lets it grant others; no stage needs it")


def password_env(index: int) -> str:
    """Environment variable of the server task that receives the `index`-th stage user's password."""
    return f"MLCICD_STAGE_PASSWORD_{index}"


def users_spec(users: Sequence[StageUser]) -> str:
    """The value of `USERS_ENV`: who, which password variable, which grants."""
    return json.dumps([{"username": u.username, "passwordEnv": password_env(i), "grants": [list(g) for g in u.grants]}
                       for i, u in enumerate(users)], sort_keys=True)


#: Runs inside the MLflow server image (only MLflow and the standard library): creates or updates each stage user in
#: the auth database named by the auth app's ini file, then upserts its grants. `grant_user_permission` is MLflow
#: 3's per-user grant API; older servers have `create_/update_registered_model_permission`.
BOOTSTRAP_SCRIPT = """\
import json, os, sys
from mlflow.exceptions import MlflowException
from mlflow.server.auth.config import read_auth_config
from mlflow.server.auth.sqlalchemy_store import SqlAlchemyStore

store = SqlAlchemyStore()
store.init_db(read_auth_config().database_uri)


def grant(user, kind, name, permission):
    if hasattr(store, "grant_user_permission"):
        store.grant_user_permission(user, kind, name, permission)
        return
    try:
        getattr(store, "create_%s_permission" % kind)(name, user, permission)
    except MlflowException:
        getattr(store, "update_%s_permission" % kind)(name, user, permission)


for user in json.loads(os.environ["MLCICD_STAGE_USERS"]):
    name, password = user["username"], os.environ[user["passwordEnv"]]
    if not store.has_user(name):
        try:
            store.create_user(name, password)
        except MlflowException:
            pass  # another task created it a moment ago; the update below sets the password
    store.update_user(name, password=password, is_admin=False)
    for kind, resource, permission in user["grants"]:
        grant(name, kind, resource, permission)
    print("mlflow stage user %s: %d grant(s)" % (name, len(user["grants"])), file=sys.stderr)
"""
