"""Networking: `mlcicd:network:Network` (existing VPC by id, or a minimal private VPC)."""
