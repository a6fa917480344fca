"""A readable surrogate of a text classifier: a short ordered list of rules over words and
word pairs, fit to the model's own labels on the texts and on perturbations of them.

Each rule reads "IF the text contains 'great' or 'superb' (but not 'not great') THEN
positive"; the first rule that holds decides, and the last one ("OTHERWISE …") catches
the rest. The list is grown greedily (sequential covering): each new rule is the class and
the set of phrases, with its exceptions, that make the list most faithful to the model on
the texts no earlier rule covers.

The texts are split: 30 % are held out, and fidelity (agreement with the model's predicted
class) is measured on them alone, with how the rules hold on perturbations of those texts
beside it. The list is grown on the rest, and its number of rules chosen as the tabular
surrogate's is (size_choice.py): repeated cross-validation over those texts (a text's
perturbations leave with it), the fewest rules within 0.005 of the best with 95% confidence.
``curve`` holds every size tried.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..format import counted
from ..jobs import NEVER, Progress, Stop, no_progress
from ..size_choice import fewest_rules_near_best
from ..size_choice import reason as size_choice_reason
from .words import word_regex  # the words a function of texts is explained by

MAX_RULES = 12
MAX_PHRASES = 8  # phrases a rule may name (and as many exceptions)
MIN_GAIN = 0.005  # a phrase must fix this share of the samples (and at least 3) to be added
MAX_FEATURES = 600  # phrases considered: the most frequent words and word pairs
PERTURBATIONS = 8  # variants of each text with words dropped (at least)
MAX_PERTURBATIONS = 40  # for few texts: about SAMPLES samples in all
SAMPLES = 1600
DROP = 0.25  # chance that a word is dropped from a variant
HELD_OUT = 0.3
FOLDS, REPEATS = 5, 2  # cross-validation over the texts that are not held out
MIN_CV_TEXTS = 4  # with fewer, the fitting samples themselves judge the sizes


@dataclass(frozen=True)
class TextRule:
    """One rule of the list: IF any of ``phrases`` (and none of ``exceptions``) THEN class.

    The last rule has no phrases: it covers every text no earlier rule did.
    ``coverage`` is the share of the fitting samples it decides, ``precision`` how often
    the model agrees with it on them.
    """

    id: int
    phrases: tuple[str, ...]
    exceptions: tuple[str, ...]
    prediction: Any
    coverage: float
    precision: float

    @property
    def is_default(self) -> bool:
        """Whether this is the last rule ("OTHERWISE")."""
        return not self.phrases

    def holds(self, present: set[str]) -> bool:
        """Whether the rule decides a text with these phrases."""
        if self.is_default:
            return True
        return any(p in present for p in self.phrases) and not any(
            p in present for p in self.exceptions
        )

    def __repr__(self) -> str:
        return f"TextRule {self.id + 1}: {self.text()}"

    def text(self) -> str:
        """The rule as a line people read."""
        if self.is_default:
            return f"OTHERWISE {self.prediction}"
        said = " or ".join(f'"{p}"' for p in self.phrases)
        but = (
            " but none of " + ", ".join(f'"{p}"' for p in self.exceptions)
            if self.exceptions
            else ""
        )
        return f"IF the text contains {said}{but} THEN {self.prediction}"


@dataclass
class TextSurrogate:
    """The rule list, with its held-out fidelity and the curve it was chosen from."""

    rules: list[TextRule]
    classes: list[Any]
    fidelity: float  # agreement with the model on held-out real texts
    between: float | None  # the same on perturbations of the held-out texts
    curve: list[dict[str, Any]]
    n_texts: int
    n_samples: int
    reason: str
    metric: str = "accuracy"
    family: str = "rule list over words and word pairs"
    held_out: list[int] = field(default_factory=list)  # texts the fit never saw

    @property
    def complexity(self) -> int:
        """Number of rules (the last, "OTHERWISE", included)."""
        return len(self.rules)

    @property
    def phrases(self) -> int:
        """How many phrases the rules name in all (exceptions included)."""
        return sum(len(r.phrases) + len(r.exceptions) for r in self.rules)

    def rule_for(self, text: str) -> TextRule:
        """The first rule that holds for ``text``."""
        present = phrases_of(text)
        return next(rule for rule in self.rules if rule.holds(present))

    def predict(self, texts: Sequence[str]) -> list[Any]:
        """The class the rules give each text."""
        return [self.rule_for(t).prediction for t in texts]

    def __repr__(self) -> str:
        return (
            f"TextSurrogate: {counted(self.complexity, 'rule')} ({self.phrases} phrases), "
            f"held-out {self.metric} {self.fidelity:.3f}\n{self.text()}"
        )

    def text(self) -> str:
        """Every rule, one per line."""
        return "\n".join(rule.text() for rule in self.rules)


def phrases_of(text: str) -> set[str]:
    """The words and word pairs of a text, lowercased."""
    words = [w.lower() for w in word_regex().findall(text)]
    return set(words) | {f"{a} {b}" for a, b in itertools.pairwise(words)}


def phrase_spans(text: str, phrase: str) -> list[tuple[int, int]]:
    """Where a phrase (one word or two) occurs in ``text``: character spans."""
    words = [(m.group(0).lower(), m.span()) for m in word_regex().finditer(text)]
    parts = phrase.split(" ")
    out = []
    for i in range(len(words) - len(parts) + 1):
        if all(words[i + k][0] == parts[k] for k in range(len(parts))):
            out.append((words[i][1][0], words[i + len(parts) - 1][1][1]))
    return out


def perturb(text: str, rng: np.random.Generator, n: int = PERTURBATIONS) -> list[str]:
    """``n`` variants of a text with words dropped at random (at least one each)."""
    words = text.split()
    if len(words) < 2:
        return []
    out = []
    for _ in range(n):
        keep = rng.random(len(words)) >= DROP
        if keep.all():
            keep[rng.integers(len(words))] = False
        out.append(" ".join(w for w, k in zip(words, keep) if k))
    return out


@dataclass
class Samples:
    """Texts and their perturbations, with the model's labels, split for fitting."""

    texts: list[str]
    labels: np.ndarray  # class index the model predicts
    weights: np.ndarray  # the model's margin: a sample it hesitates on matters less
    origin: np.ndarray  # which input text each sample comes from
    real: np.ndarray  # whether the sample is an input text itself
    fit: np.ndarray  # masks over samples: grow the rules and choose their number, report
    test: np.ndarray


def make_samples(
    texts: Sequence[str],
    predict: Callable[[list[str]], np.ndarray],
    *,
    random_state: int = 0,
    perturbations: int | None = None,
) -> Samples:
    """The texts and their perturbations labelled by the model (one batched call), split
    by input text (a text's perturbations go where the text goes). By default each text has
    ``PERTURBATIONS`` variants, more for few texts (about ``SAMPLES`` samples in all)."""
    rng = np.random.default_rng(random_state)
    if perturbations is None:
        wanted = -(-SAMPLES // max(len(texts), 1))
        perturbations = int(np.clip(wanted, PERTURBATIONS, MAX_PERTURBATIONS))
    all_texts: list[str] = []
    origin: list[int] = []
    real: list[bool] = []
    for i, text in enumerate(texts):
        variants = perturb(text, rng, perturbations)
        all_texts.extend([text, *variants])
        origin.extend([i] * (1 + len(variants)))
        real.extend([True] + [False] * len(variants))
    origin_a, real_a = np.asarray(origin, dtype=int), np.asarray(real, dtype=bool)
    probabilities = np.asarray(predict(all_texts), dtype=float)
    labels = probabilities.argmax(axis=1)
    ranked = np.sort(probabilities, axis=1)
    weights = ranked[:, -1] - ranked[:, -2] if ranked.shape[1] > 1 else np.ones(len(labels))
    n = len(texts)
    order = rng.permutation(n)
    n_test = max(1, round(HELD_OUT * n)) if n >= 4 else 0
    test = np.isin(origin_a, order[:n_test])
    return Samples(all_texts, labels, weights, origin_a, real_a, ~test, test)


def phrase_matrix(samples: Samples) -> tuple[Any, list[str]]:
    """Which phrases each sample contains (binary, sparse), over the phrases frequent in the
    fitting samples."""
    from sklearn.feature_extraction.text import CountVectorizer

    vectorizer = CountVectorizer(
        binary=True,
        ngram_range=(1, 2),
        token_pattern=word_regex().pattern,
        lowercase=True,
        min_df=2,
        max_features=MAX_FEATURES,
    )
    fit_texts = [t for t, f in zip(samples.texts, samples.fit) if f]
    try:
        vectorizer.fit(fit_texts)
    except ValueError:  # no phrase occurs twice: the rules can only say OTHERWISE
        return None, []
    return vectorizer.transform(samples.texts).tocsr(), list(vectorizer.get_feature_names_out())


def grow_rules(
    X: np.ndarray,
    y: np.ndarray,
    n_classes: int,
    *,
    weights: np.ndarray | None = None,
    max_rules: int = MAX_RULES,
    max_phrases: int = MAX_PHRASES,
    stop: Stop = NEVER,
) -> list[tuple[list[int], list[int], int]]:
    """The ordered rules (phrase columns, exception columns, class) grown greedily on a
    dense 0/1 matrix, each sample counted with its weight; the last rule has no phrases
    (the majority of what is left)."""
    remaining = np.ones(len(y), dtype=bool)
    w = np.ones(len(y)) if weights is None else np.asarray(weights, dtype=float)
    onehot = np.eye(n_classes, dtype=np.float32)[y] * w[:, None].astype(np.float32)
    A = X.astype(np.float32)
    rules: list[tuple[list[int], list[int], int]] = []
    while len(rules) < max_rules - 1 and remaining.any():
        stop.check()
        left = np.flatnonzero(remaining)
        counts = onehot[left].sum(axis=0)
        if np.count_nonzero(counts > 1e-9) < 2:
            break
        best: tuple[float, list[int], list[int], int, np.ndarray] | None = None
        baseline = float(counts.max())
        for c in range(n_classes):
            found = _grow_one(A[left], onehot[left], c, max_phrases)
            if found is not None and (best is None or found[0] > best[0]):
                best = (found[0], found[1], found[2], c, found[3])
        if best is None or best[0] <= baseline:
            break
        _score, phrases, exceptions, c, covered = best
        rules.append((phrases, exceptions, c))
        remaining[left[covered]] = False
    left = np.flatnonzero(remaining)
    pool = y[left] if len(left) else y
    rules.append(([], [], int(np.bincount(pool, minlength=n_classes).argmax())))
    return rules


def _grow_one(
    A: np.ndarray, Y: np.ndarray, c: int, max_phrases: int
) -> tuple[float, list[int], list[int], np.ndarray] | None:
    """The phrases (then exceptions) of one rule for class ``c`` that make the list most
    faithful: the samples it covers count when their label is ``c``, the rest count by
    their majority class (the list could end there)."""
    n = len(A)
    covered = np.zeros(n, dtype=bool)
    has_phrase = np.zeros(n, dtype=bool)
    blocked = np.zeros(n, dtype=bool)
    phrases: list[int] = []
    exceptions: list[int] = []

    def score(cov: np.ndarray) -> float:
        return float(Y[cov, c].sum() + Y[~cov].sum(axis=0).max(initial=0))

    current = score(covered)
    gain = max(2.5, MIN_GAIN * n) * float(Y.sum()) / max(n, 1)  # in weighted samples
    while len(phrases) < max_phrases:
        out = ~covered & ~blocked
        gains = A[out].T @ Y[out]  # per phrase: uncovered samples it would take, by class
        uncovered = Y[~covered].sum(axis=0)
        totals = gains[:, c] + (uncovered[None, :] - gains).max(axis=1)
        totals += float(Y[covered, c].sum())
        totals[phrases] = -np.inf
        j = int(np.argmax(totals))
        if totals[j] < current + gain:
            break
        phrases.append(j)
        has_phrase |= A[:, j] > 0
        covered = has_phrase & ~blocked
        current = score(covered)
    if not phrases:
        return None
    while len(exceptions) < max_phrases:
        inside = covered
        losses = A[inside].T @ Y[inside]  # per phrase: covered samples it would release
        uncovered = Y[~covered].sum(axis=0)
        totals = float(Y[covered, c].sum()) - losses[:, c]
        totals += (uncovered[None, :] + losses).max(axis=1)
        totals[phrases + exceptions] = -np.inf
        j = int(np.argmax(totals))
        if totals[j] < current + gain:
            break
        exceptions.append(j)
        blocked |= A[:, j] > 0
        covered = has_phrase & ~blocked
        current = score(covered)
    return current, phrases, exceptions, covered


def apply_rules(
    X: np.ndarray, rules: Sequence[tuple[list[int], list[int], int]], k: int | None = None
) -> np.ndarray:
    """The class the first ``k`` rules give each row (the last of them as OTHERWISE)."""
    chosen = [*rules[: k - 1], rules[-1]] if k is not None else list(rules)
    out = np.full(len(X), -1)
    for phrases, exceptions, c in chosen[:-1]:
        hit = (X[:, phrases].sum(axis=1) > 0) & (
            X[:, exceptions].sum(axis=1) == 0 if exceptions else True
        )
        out[(out < 0) & hit] = c
    out[out < 0] = chosen[-1][2]
    return out


def _prefix(
    X: np.ndarray,
    y: np.ndarray,
    rules: Sequence[tuple[list[int], list[int], int]],
    k: int,
    n_classes: int,
) -> list[tuple[list[int], list[int], int]]:
    """The list of ``k`` rules: the first ``k - 1`` grown and, last, the majority class of
    what they leave among the fitting rows (``X``, ``y``)."""
    if k == 1:
        return [([], [], int(np.bincount(y, minlength=n_classes).argmax()))]
    left = apply_rules(X, [*rules[: k - 1], ([], [], -1)]) == -1
    pool = y[left] if left.any() else y
    return [*rules[: k - 1], ([], [], int(np.bincount(pool, minlength=n_classes).argmax()))]


def _folds(samples: Samples, random_state: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """``(grow on, judge)`` masks over the samples: repeated k-fold over the texts that
    are not held out, a text's perturbations going where it goes. With fewer than
    MIN_CV_TEXTS texts, one pair: the fitting samples grow and judge."""
    from sklearn.model_selection import RepeatedKFold

    texts = np.unique(samples.origin[samples.fit])
    if len(texts) < MIN_CV_TEXTS:
        return [(samples.fit, samples.fit)]
    splits = RepeatedKFold(
        n_splits=min(FOLDS, len(texts)), n_repeats=REPEATS, random_state=random_state
    )
    out = []
    for _, held in splits.split(texts):
        judge = np.isin(samples.origin, texts[held])
        out.append((samples.fit & ~judge, judge))
    return out


def fit_text_surrogate(
    texts: Sequence[str],
    predict: Callable[[list[str]], np.ndarray],
    classes: Sequence[Any],
    *,
    random_state: int = 0,
    max_rules: int = MAX_RULES,
    progress: Progress = no_progress,
    stop: Stop = NEVER,
) -> TextSurrogate:
    """Fit the rule list to ``predict`` (texts -> probabilities) on ``texts`` and their
    perturbations; see the module docstring."""
    progress(0, 3)
    samples = make_samples(texts, predict, random_state=random_state)
    progress(1, 3)
    stop.check()
    matrix, names = phrase_matrix(samples)
    n_classes = len(classes)
    y = samples.labels
    real_test = samples.test & samples.real
    if matrix is None:  # one rule, the fitting samples' majority, judged as any list is
        fit = samples.fit
        majority = int(np.bincount(y[fit], minlength=n_classes).argmax())
        rule = TextRule(0, (), (), classes[majority], 1.0, float(np.mean(y[fit] == majority)))
        judged = real_test if real_test.any() else fit & samples.real
        return TextSurrogate(
            [rule],
            list(classes),
            float(np.mean(y[judged] == majority)),
            None,
            [],
            len(texts),
            len(samples.texts),
            "no phrase occurs in two texts",
            held_out=sorted({int(i) for i in samples.origin[real_test]}),
        )
    X = matrix.toarray().astype(np.int8)
    fit, test = samples.fit, samples.test
    folds = _folds(samples, random_state)
    # The model labelling the samples was the first third; the folds and the final list
    # share the rest.
    steps = len(folds) + 1
    progress(steps, 3 * steps)
    by_fold = np.empty((max_rules, len(folds)))
    for f, (grow_on, judge) in enumerate(folds):
        stop.check()
        fold_rules = grow_rules(
            X[grow_on],
            y[grow_on],
            n_classes,
            weights=samples.weights[grow_on],
            max_rules=max_rules,
            stop=stop,
        )
        each_judge = np.ones(int(judge.sum()), dtype=bool)
        for k in range(1, max_rules + 1):
            # A list that stopped growing is what every larger size gives.
            rules_k = _prefix(
                X[grow_on], y[grow_on], fold_rules, min(k, len(fold_rules)), n_classes
            )
            predicted = apply_rules(X[judge], rules_k)
            by_fold[k - 1, f] = _agreement(predicted, y[judge], each_judge, samples.weights[judge])
        progress(steps + 2 * (f + 1), 3 * steps)
    grown = grow_rules(
        X[fit], y[fit], n_classes, weights=samples.weights[fit], max_rules=max_rules, stop=stop
    )
    choice = fewest_rules_near_best({k: by_fold[k - 1] for k in range(1, len(grown) + 1)}, int)
    perturbed_test = test & ~samples.real
    curve: list[dict[str, Any]] = []
    candidates: list[list[tuple[list[int], list[int], int]]] = []
    for k in range(1, len(grown) + 1):
        rules_k = _prefix(X[fit], y[fit], grown, k, n_classes)
        candidates.append(rules_k)
        predicted = apply_rules(X, rules_k)
        curve.append(
            {
                "rules": k,
                "fidelity": _agreement(predicted, y, real_test),
                "between": _agreement(predicted, y, perturbed_test)
                if perturbed_test.any()
                else None,
                "validation": choice.mean[k],
                "validation_se": choice.error[k],
                "chosen": k == choice.chosen,
            }
        )
    k = choice.chosen
    rules_k = candidates[k - 1]
    reached = np.full(int(fit.sum()), -1)
    rules = []
    for rid, (phrases, exceptions, c) in enumerate(rules_k):
        if rid < len(rules_k) - 1:
            hit = (X[fit][:, phrases].sum(axis=1) > 0) & (
                X[fit][:, exceptions].sum(axis=1) == 0 if exceptions else True
            )
        else:
            hit = np.ones(int(fit.sum()), dtype=bool)
        mine = (reached < 0) & hit
        reached[mine] = rid
        coverage = float(mine.mean()) if mine.size else 0.0
        precision = float(np.mean(y[fit][mine] == c)) if mine.any() else 0.0
        rules.append(
            TextRule(
                rid,
                tuple(names[j] for j in phrases),
                tuple(names[j] for j in exceptions),
                classes[c],
                coverage,
                precision,
            )
        )
    progress(3 * steps, 3 * steps)
    chosen = curve[k - 1]
    if len(folds) > 1:
        scored = "cross-validated agreement"
        judged = (
            f"{counted(len(folds), 'cross-validation fold')} over "
            f"{counted(len(set(samples.origin[fit])), 'text')} and their perturbations, "
            "weighted by the model's margin"
        )
    else:
        scored = "agreement on the fitting texts and their perturbations"
        judged = "too few texts for cross-validation"
    reason = size_choice_reason(choice, int, scored, judged, smaller="shorter list")
    return TextSurrogate(
        rules=rules,
        classes=list(classes),
        fidelity=float(chosen["fidelity"]),
        between=chosen["between"],
        curve=curve,
        n_texts=len(texts),
        n_samples=len(samples.texts),
        reason=reason,
        held_out=sorted({int(i) for i in samples.origin[real_test]}),
    )


def _agreement(
    predicted: np.ndarray, y: np.ndarray, where: np.ndarray, weights: np.ndarray | None = None
) -> float:
    """Share of the samples ``where`` on which the rules give the model's class (weighted)."""
    if not where.any():
        return float("nan")
    w = np.ones(int(where.sum())) if weights is None else weights[where]
    if w.sum() <= 0:
        w = np.ones(int(where.sum()))
    return float(np.average(predicted[where] == y[where], weights=w))
