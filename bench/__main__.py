"""``python -m bench``: list the scenarios; ``python -m bench NAME [flags]`` runs one;
``python -m bench all`` runs every scenario with the N values of the issues.

Examples::

    python -m bench
    python -m bench rtmp --publishers 1 10 30 60 --seconds 15
    python -m bench srt --publishers 1 10 --seconds 5
    python -m bench all
    python -m bench all --publishers 1 10 --seconds 5    # flags go to the ingest scenarios
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from bench.harness import IngestScenario
from bench.scenarios import IN_ALL, NAMES, load


def parser_for(name: str) -> argparse.ArgumentParser:
    """The argument parser of one scenario."""
    scenario = load(name)
    parser = argparse.ArgumentParser(prog=f"python -m bench {name}", description=scenario.summary)
    scenario.add_arguments(parser)
    return parser


def run(name: str, argv: list[str]) -> Any:
    """Parse ``argv`` for scenario ``name`` and run it; returns what the scenario returns."""
    return load(name).run(parser_for(name).parse_args(argv))


def listing() -> str:
    """One line per scenario: its name and what it measures."""
    lines = ["scenarios (python -m bench NAME --help for the flags; `all` runs every one):"]
    lines += [f"  {name:<12} {load(name).summary}" for name in NAMES]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """The command line; returns the exit status."""
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help", "list"):
        print(__doc__.replace("``", "`").replace("::", ":"))
        print(listing())
        return 0
    name, rest = argv[0], argv[1:]
    if name == "all":  # the flags given go to the ingest scenarios; codecs run as they are
        for each in IN_ALL:
            scenario = load(each)
            extra = rest if isinstance(scenario, IngestScenario) else []
            run(each, [*scenario.all_argv, *extra])
        return 0
    if name not in NAMES:
        print(f"no scenario {name!r}\n{listing()}", file=sys.stderr)
        return 2
    run(name, rest)
    return 0


if __name__ == "__main__":
    sys.exit(main())
