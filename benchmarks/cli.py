"""CLI start-up and the offline graph, against their targets and the interpreter floor measured in the same run.

    python -m benchmarks cli [--repeat 5]

Peers: `python -c pass` (the floor every Python CLI pays) and `python -c "import pulumi_aws"` plus the
submodules the program uses (the floor of any Pulumi Python program on this provider).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile

from benchmarks.common import BIN, median_of, verdict

HELP_TARGET_S = 0.5
GRAPH_COLD_TARGET_S = 15.0
SDK_IMPORT = ("import pulumi_aws as a; [getattr(a, m) for m in ('s3', 'ecr', 'kms', 'iam', 'ecs', 'lb', 'ec2', "
              "'rds', 'cloudwatch', 'sns', 'secretsmanager', 'codebuild', 'codepipeline', 'appautoscaling', "
              "'sagemaker')]")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks cli")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    py = sys.executable
    mlcicd = str(BIN / "mlcicd")
    floor = median_of("python -c pass (peer: interpreter floor)", [py, "-c", "pass"], args.repeat)
    helptime = median_of("mlcicd --help", [mlcicd, "--help"], args.repeat)
    # Cold: no bytecode cache for our own code, a fresh process each time.
    with tempfile.TemporaryDirectory() as cache:
        env = {"PYTHONPYCACHEPREFIX": cache}
        sdk = median_of("import pulumi_aws + 15 submodules (peer: SDK floor)", [py, "-c", SDK_IMPORT],
                        max(1, args.repeat // 2), env)
        graph = median_of("mlcicd graph --stack production (cold)",
                          [mlcicd, "graph", "--stack", "production", "--out", os.devnull], max(1, args.repeat // 2),
                          env)
    print(f"{'benchmark':<52} {'wall':>10} {'peak RSS':>12}")
    for t in (floor, helptime, sdk, graph):
        print(t.row())
    print()
    print(f"mlcicd --help: {helptime.wall_s:.3f} s, target {HELP_TARGET_S} s "
          f"({verdict(helptime.wall_s, HELP_TARGET_S)}), {helptime.wall_s / floor.wall_s:.1f}x the interpreter floor")
    print(f"graph cold:    {graph.wall_s:.3f} s, target {GRAPH_COLD_TARGET_S} s "
          f"({verdict(graph.wall_s, GRAPH_COLD_TARGET_S)}), {graph.wall_s / sdk.wall_s:.2f}x the SDK import floor")
    return 0 if helptime.wall_s <= HELP_TARGET_S and graph.wall_s <= GRAPH_COLD_TARGET_S else 1


if __name__ == "__main__":
    raise SystemExit(main())
