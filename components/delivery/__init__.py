"""Delivery: the CodePipeline and its CodeBuild actions, generated from one stage list."""
