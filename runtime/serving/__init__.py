"""The model server: MLflow's scoring app under uvicorn behind the inference capture layer.

`command.py` is the one definition of how it starts (image, ECS, EKS, local run, tests); `app.py` builds the ASGI
app; `capture.py` records sampled requests. This package imports only the standard library at module level and
otherwise only what the serving image has (mlflow, uvicorn, starlette, boto3): the image carries this package
without the rest of the runtime.
"""
