"""Judging a candidate on production traffic: `mlcicd gate replay` (captured requests replayed against candidate and
champion) and `mlcicd gate shadow` (pairs captured from a shadow variant fed a mirror of live traffic).

Modules: `captures` reads a window of capture partitions, `sample` draws the stratified sample and rebuilds the
requests, `send` replays them, `shadow` pairs captured records, `decide`/`judge`/`stats` make the paired verdict,
`html` renders it, `servers` serves models side by side for the pipeline, `gate_run` runs `gate replay` from its
options.
"""

#: Report kinds (evidence keys `reports/<model>/<version>/<kind>.json`).
KIND_REPLAY = "replay-gate"
KIND_SHADOW = "shadow-gate"
