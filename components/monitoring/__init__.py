"""Monitoring: scheduled drift checks with their alarm and retrain trigger, and batch inference."""
