"""Data validation: schema, quality and drift of a current data frame against a reference (or its profile).

Library first: `validate_data(reference, current, config)` returns a `runtime.report.Report` of kind
"data-validation"; `runtime.cli.data_cmd` is the `mlcicd data` CLI on top. Heavy libraries (numpy, pyarrow)
are imported by the submodules, so import them only where they are used.
"""
