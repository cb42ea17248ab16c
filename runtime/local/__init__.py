"""`mlcicd local run`: the whole pipeline on one machine with real components and no cloud."""
