"""ml-cicd component library: Pulumi component resources for an ML platform on AWS.

Type tokens are `mlcicd:<area>:<Name>` and never change. Each component validates its args first, then builds
its children with `parent=self`, assigns its outputs and calls `register_outputs` last.
"""
