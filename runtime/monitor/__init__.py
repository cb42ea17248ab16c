"""Monitoring jobs that read captured traffic: a time window of captures (`window.py`), drift per model version
against the reference profile (`drift.py`), live quality from late labels (`quality.py`)."""
