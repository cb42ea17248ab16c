"""Model serving: `mlcicd:serving:ModelService` (ECS Fargate behind an ALB, or EKS with Argo Rollouts)."""
