"""ml-cicd runtime: the checks the delivery pipeline runs, usable as a library and through the `mlcicd` CLI."""

__version__ = "0.1.0"
