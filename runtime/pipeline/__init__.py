"""The delivery pipeline as data: ONE list of stages and steps (`steps.delivery_stages`), pure and free of Pulumi.

`components/delivery` renders it into CodeBuild projects and CodePipeline stages; the runtime can read the same
list (`mlcicd local run` rehearses the same steps). `model.py` holds the data types, `steps.py` the list.
"""
