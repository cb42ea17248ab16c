"""The ml-cicd Pulumi program (entry point: infra/__main__.py)."""
