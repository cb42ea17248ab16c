"""`python -m runtime.scaffold [ROOT]`: refresh the template's copies of the example project and workflows."""

import sys
from pathlib import Path

from runtime.scaffold import sync

if __name__ == "__main__":
    for name in sync(Path(sys.argv[1]) if len(sys.argv) > 1 else Path.cwd()):
        print(f"updated {name}")
