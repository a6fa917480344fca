"""The size a surrogate is shown at, from its cross-validated fidelity per candidate.

The fewest rules that, with 95% confidence, lose less than half a point of fidelity
(TOLERANCE) against the best candidate: a candidate's mean loss over the folds plus
CONFIDENCE standard errors of that loss stays within TOLERANCE. The error is that of the
difference to the best, paired over the same folds: two sizes share most of a fold's luck,
so this is the noise that matters when telling them apart. When the folds cannot tell a
smaller candidate from the best, the best is kept: a user reads a few more rules rather
than lose fidelity nobody measured. (Breiman's one-standard-error rule, the fewest rules
within one error of the best, gives up held-out accuracy on a few hundred rows, where that
error is wide.) The tabular surrogate and the text one choose alike.

A candidate with no more rules and no lower mean than one so vouched for counts as near the
best too (its folds may only vary more), or a user would read more rules for less.

The frontier is what a user choosing a size reads: per number of rules the candidate
cross-validation rates best, where it beats every smaller one. The chosen candidate lies on
it: a smaller one at least as good would have been chosen.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from typing import Generic, TypeVar

import numpy as np

from .format import counted

TOLERANCE = 0.005  # fidelity (accuracy or R²) worth giving up for fewer rules
CONFIDENCE = 1.645  # standard errors of the loss: one-sided 95%

K = TypeVar("K", bound=Hashable)


def standard_error(values: np.ndarray) -> float:
    """The standard error of the mean of ``values`` (0 for fewer than two)."""
    return float(np.std(values, ddof=1) / np.sqrt(len(values))) if len(values) > 1 else 0.0


@dataclass(frozen=True)
class SizeChoice(Generic[K]):
    """Per candidate its mean and error over the folds, which are near enough to the best,
    and which are chosen and best."""

    mean: dict[K, float]
    error: dict[K, float]  # of its own mean
    near_best: dict[K, bool]  # confidently within TOLERANCE of the best, or dominating one
    best: K
    chosen: K
    # The candidate confidently near the best that the chosen one dominates (no more rules,
    # no lower mean), when it is not so vouched for itself; else None.
    dominated: K | None = None


def fewest_rules_near_best(
    by_fold: Mapping[K, np.ndarray], rules: Callable[[K], int]
) -> SizeChoice[K]:
    """Choose among candidates (their scores per fold, NaN where a fold has none; higher is
    better) the fewest ``rules`` confidently within TOLERANCE of the best, or with no lower
    mean than such a candidate at no more rules; ties go to the better mean, then to the
    first candidate."""
    mean, error = {}, {}
    for key, folds in by_fold.items():
        known = folds[np.isfinite(folds)]
        mean[key], error[key] = float(known.mean()), standard_error(known)
    best = max(by_fold, key=lambda k: (mean[k], -rules(k)))
    near_best = {}
    for key, folds in by_fold.items():
        both = np.isfinite(folds) & np.isfinite(by_fold[best])
        loss = mean[best] - mean[key]
        paired = standard_error(by_fold[best][both] - folds[both])
        near_best[key] = bool(key == best or loss + CONFIDENCE * paired <= TOLERANCE)
    # Fewer rules and no lower mean than a candidate near the best: as near (its folds
    # may only vary more), or a user would read more rules for less.
    vouched = [k for k in by_fold if near_best[k]]
    for key in by_fold:
        near_best[key] = near_best[key] or any(
            rules(key) <= rules(other) and mean[key] >= mean[other] for other in vouched
        )
    chosen = min((k for k in by_fold if near_best[k]), key=lambda k: (rules(k), -mean[k]))
    dominated = None
    if chosen not in vouched:
        dominated = min(
            (k for k in vouched if rules(chosen) <= rules(k) and mean[chosen] >= mean[k]),
            key=lambda k: (rules(k), -mean[k]),
        )
    return SizeChoice(mean, error, near_best, best, chosen, dominated)


def reason(
    choice: SizeChoice[K],
    rules: Callable[[K], int],
    scored: str,
    judged: str,
    *,
    family: Callable[[K], str] | None = None,
    smaller: str = "smaller surrogate",
) -> str:
    """Why the chosen candidate has its number of rules, as the panel states it: the best
    ``scored`` itself, no more rules and no less faithful than one near the best, or the
    fewest rules near the best. ``judged``: what the folds were; ``family``: a candidate's
    family, where several compete."""

    def at(key: K) -> str:  # "12 rules, decision tree"
        return counted(rules(key), "rule") + (f", {family(key)}" if family else "")

    def named(key: K) -> str:  # "12 rules (decision tree)"
        return counted(rules(key), "rule") + (f" ({family(key)})" if family else "")

    def scores(key: K) -> str:
        return f"{choice.mean[key]:.3f} ± {choice.error[key]:.3f}"

    best, chosen = choice.best, choice.chosen
    fewest = f"the fewest rules within {TOLERANCE} of the best {scored} with 95% confidence"
    if chosen == best:
        return (
            f"the best {scored} ({scores(best)} at {at(best)}); no {smaller} is within "
            f"{TOLERANCE} of it with 95% confidence ({judged})"
        )
    if choice.dominated is not None:
        vouched = choice.dominated
        # Two variants of one family can have as many rules: "another" tells them apart.
        another = "another of " if named(vouched) == named(chosen) else ""
        return (
            f"{fewest}, or no more rules and no less faithful: {named(chosen)} reach "
            f"{scores(chosen)}, no less than the {choice.mean[vouched]:.3f} of {another}"
            f"{named(vouched)} within {TOLERANCE} of the best ({choice.mean[best]:.3f} at "
            f"{at(best)}) ({judged})"
        )
    return (
        f"{fewest} (the best: {scores(best)} at {at(best)}): {named(chosen)} reach "
        f"{scores(chosen)} ({judged})"
    )


def frontier(mean: Mapping[K, float], rules: Callable[[K], int]) -> dict[K, bool]:
    """Per candidate whether it is on the frontier: the best mean of its size (the first on
    a tie), where it beats every smaller size."""
    on = dict.fromkeys(mean, False)
    top = -np.inf
    for key in sorted(mean, key=lambda k: (rules(k), -mean[k])):
        if mean[key] > top:
            on[key], top = True, mean[key]
    return on
