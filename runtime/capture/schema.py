"""The capture schema of a registered model: its signature's input columns and prediction type.

`ml-cicd:monitoring.capture.inputSchema` carries the same list (the program builds the Glue table from the stack
config, without reaching MLflow); `mlcicd capture schema` prints it from a model and, with `--stack`, fails when
the two differ, so a model whose inputs changed cannot reach a table that would silently drop the new columns.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from runtime.errors import UsageError

#: MLflow tensor dtypes (numpy) and column types -> the capture's prediction type.
_PREDICTION_TYPES = {"bool": "boolean", "boolean": "boolean", "int8": "long", "int16": "long", "int32": "long",
                     "int64": "long", "integer": "long", "long": "long", "uint8": "long", "uint16": "long",
                     "uint32": "long", "float16": "double", "float32": "double", "float64": "double",
                     "float": "double", "double": "double", "str": "string", "string": "string",
                     "object": "string"}


@dataclass(frozen=True)
class ModelCaptureSchema:
    features: tuple[tuple[str, str], ...]
    prediction_type: str

    def as_config(self) -> dict[str, Any]:
        """The `monitoring.capture` keys, as they go into the stack file."""
        return {"inputSchema": [{"name": n, "type": t} for n, t in self.features],
                "predictionType": self.prediction_type}


def from_signature(signature: Any, model_uri: str) -> ModelCaptureSchema:
    """Named input columns and the prediction type of an MLflow ModelSignature. Raises UsageError for a model
    without a signature or with unnamed (tensor) inputs: capture needs one column per feature."""
    if signature is None or signature.inputs is None:
        raise UsageError(f"{model_uri} has no signature: log the model with `signature=infer_signature(X, y)` so "
                         "its input columns are known")
    inputs = signature.inputs
    if inputs.is_tensor_spec() or not inputs.has_input_names():
        raise UsageError(f"{model_uri} takes unnamed tensor inputs ({inputs!r}); capture stores one column per "
                         "named feature: log the model with a DataFrame input example")
    features = tuple((spec.name, spec.type.name) for spec in inputs.inputs)
    return ModelCaptureSchema(features, _prediction_type(signature.outputs))


def _prediction_type(outputs: Any) -> str:
    """One scalar output column: its type; anything else (several columns, objects, no output schema): string,
    the prediction captured as JSON text."""
    if outputs is None or len(outputs.inputs) != 1:
        return "string"
    (spec,) = outputs.inputs
    kind = spec.type.name if hasattr(spec.type, "name") else str(getattr(spec, "type", ""))
    return _PREDICTION_TYPES.get(str(kind), "string")


def from_model(model_uri: str) -> ModelCaptureSchema:
    """The capture schema of the model at `model_uri` (a directory or `models:/NAME/VERSION`; for the registry,
    MLFLOW_TRACKING_URI must be set)."""
    from mlflow.exceptions import MlflowException
    from mlflow.models import get_model_info

    try:
        info = get_model_info(model_uri)
    except (MlflowException, OSError) as exc:
        raise UsageError(f"cannot read model {model_uri}: {exc}") from None
    return from_signature(info.signature, model_uri)


def differences(config: ModelCaptureSchema, model: ModelCaptureSchema) -> list[str]:
    """What the stack config's capture schema lacks or states differently from the model's, in words."""
    out: list[str] = []
    configured, actual = dict(config.features), dict(model.features)
    out += [f"feature {n!r} ({t}) is missing from inputSchema" for n, t in actual.items() if n not in configured]
    out += [f"inputSchema lists {n!r}, which the model does not take" for n in configured if n not in actual]
    out += [f"feature {n!r} is {actual[n]} in the model, {t} in inputSchema" for n, t in configured.items()
            if n in actual and actual[n] != t]
    if config.prediction_type != model.prediction_type:
        out.append(f"predictionType is {config.prediction_type}, the model predicts {model.prediction_type}")
    return out
