"""Inference capture outside the serving process: the capture schema from a model's signature (this package),
the monitoring jobs that read captures (runtime/monitor/)."""
