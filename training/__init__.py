"""The example training project: a small classifier that follows the training contract (docs/training-contract.md).

`python -m training.train` is the pipeline's `pipeline.trainCommand`; `python -m pytest -q training` its unit tests.
Replace the model in `model.py` (and the data in `data/`) with your own; keep `train.py`'s contract.
"""
