"""The pure cores ``make mutation`` mutates, and each one's score from mutmut's results.

``python tests/unit/cores/mutation_scores.py patterns`` prints the mutant names to run
(every function of each core, but only the pure functions of idempotency: the rest of
that module is database work the HTTP and PostgreSQL tests cover). ``... check`` reads
``mutmut results --all true``, prints killed/total per core and fails when one scores
under the floor or when a mutant in scope was never run."""

from __future__ import annotations

import fnmatch
import subprocess
import sys
from collections import Counter
from pathlib import Path

FLOOR = 90.0
CORES: dict[str, tuple[str, ...]] = {
    "estimator": ("servio.domains.catalog.estimator.*",),
    "deposit policy": ("servio.domains.bookings.deposit.*",),
    "cancellation": ("servio.domains.bookings.cancellation.*",),
    "slots": ("servio.domains.scheduling.slots.*",),
    "conversation machine": ("servio.domains.conversations.machine.*",),
    "idempotency (pure)": tuple(
        f"servio.platform.idempotency.x_{name}__mutmut_*"
        for name in ("validate_key", "request_fingerprint", "stored_scope", "_is_live", "_existing")
    ),
}
# A timeout or a type error also stops the mutant; anything else lets it through.
DETECTED = {"killed", "timeout", "caught by type check", "segfault"}


def say(line: str) -> None:
    sys.stdout.write(line + "\n")


def results(mutmut: Path) -> dict[str, str]:
    out = subprocess.run(
        [str(mutmut), "results", "--all", "true"], capture_output=True, text=True, check=True
    ).stdout
    found = {}
    for line in out.splitlines():
        name, sep, status = line.strip().rpartition(": ")
        if sep:
            found[name] = status
    return found


def check(mutmut: Path) -> int:
    found = results(mutmut)
    failed = []
    for core, patterns in CORES.items():
        statuses = Counter(
            status
            for name, status in found.items()
            if any(fnmatch.fnmatch(name, p) for p in patterns)
        )
        total = sum(statuses.values())
        caught = sum(n for status, n in statuses.items() if status in DETECTED)
        score = 100.0 * caught / total if total else 0.0
        others = ", ".join(f"{n} {s}" for s, n in sorted(statuses.items()) if s not in DETECTED)
        say(f"{core:22} {score:5.1f} %  ({caught}/{total} caught{'; ' + others if others else ''})")
        if score < FLOOR or statuses["not checked"]:
            failed.append(core)
    if failed:
        say(f"under the {FLOOR:.0f} % floor or not fully run: {', '.join(failed)}")
        say("see the survivors with `.venv/bin/mutmut results` and `mutmut show <name>`")
        return 1
    return 0


def main(argv: list[str]) -> int:
    if argv[1:] == ["patterns"]:
        say(" ".join(p for patterns in CORES.values() for p in patterns))
        return 0
    if argv[1:2] == ["check"] and len(argv) == 3:
        return check(Path(argv[2]))
    say(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
