"""What the parse-time benches share: an even spread of the hand-written messages, and rounds
in which every parser takes each message in turn (so all see the same machine), with each
round's median per parser and the median over rounds."""

from __future__ import annotations

import statistics
import sys
from collections.abc import Callable, Mapping, Sequence

# a parser under test: (message, bundle summary) -> (seconds, tokens generated)
TimedParse = Callable[[str, str], tuple[float, int]]


def handwritten_spread(count: int) -> list[tuple[str, str]]:
    """`count` hand-written messages (evals/parse/) spread evenly over the set, with their
    bundle on screen."""
    from evals.parse_set import load_parse_set

    written = load_parse_set()
    step = max(1, len(written) // count)
    return [(case.say, case.summary) for case in written[::step][:count]]


def interleaved_rounds(parsers: Mapping[str, TimedParse], cases: Sequence[tuple[str, str]],
                       rounds: int) -> dict[str, object]:
    """Warm every parser on the first message, then time `rounds` rounds; the medians, the
    round medians and the mean tokens per parser."""
    for parse in parsers.values():
        parse(*cases[0])
    round_medians: dict[str, list[float]] = {name: [] for name in parsers}
    tokens: dict[str, list[int]] = {name: [] for name in parsers}
    for r in range(rounds):
        seconds: dict[str, list[float]] = {name: [] for name in parsers}
        for message, summary in cases:
            for name, parse in parsers.items():
                took, generated = parse(message, summary)
                seconds[name].append(took)
                tokens[name].append(generated)
        for name in parsers:
            round_medians[name].append(statistics.median(seconds[name]))
        print(f"round {r + 1}: " + ", ".join(f"{n} {round_medians[n][-1]:.3f}s" for n in parsers), file=sys.stderr)
    return {
        "median_parse_s": {name: round(statistics.median(v), 3) for name, v in round_medians.items()},
        "round_medians_s": round_medians,
        "mean_tokens": {name: round(statistics.mean(t), 1) for name, t in tokens.items()},
        "read_from_words_share": {name: round(sum(t == 0 for t in v) / len(v), 3) for name, v in tokens.items()},
    }
