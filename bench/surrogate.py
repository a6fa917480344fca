"""Surrogate fidelity against the number of rules: ours beside a plain decision tree,
imodels' FIGS, RuleFit and HSTree and STreeD alone, on 12 datasets that ship with
scikit-learn, statsmodels and palmerpenguins (nothing is downloaded), 5 seeds each.

python bench/surrogate.py           # writes the "surrogate" section of bench/RESULTS.md
python bench/surrogate.py --quick   # 2 datasets, 2 seeds, nothing written (a smoke run)

Per dataset the black box is fit once on all its rows; the surrogate explains a fixed
sample of at most ROWS of them. Per seed, ``fit_surrogate(random_state=seed)`` splits
those rows 70/30 and draws samples near the 70%. Every method learns the model's outputs
(its class, or its value) on the same training rows: the peers twice, on the real 70%
alone ("real") and on our exact training matrix with its near samples ("aug"), and we
keep each peer's better one (an advantage to the peers). All are judged on the same
held-out 30% of real rows: accuracy against the model's class, or R² against its value.

Rules = what a person reads: leaves (ours, a plain tree, HSTree, STreeD; FIGS: the leaves
of all its trees) plus terms (ours with linear leaves or shared terms; ours as a sum of
trees: the first tree's leaves are its rules and each other tree's leaves but one are
terms in every rule, the remaining one's value taken in by the rules, so k splits read
k + 1 as one tree's do, where FIGS's own listing of m trees reads k + m; RuleFit: its
``complexity_``). At size k a peer gets its own size knob set to k (FIGS: the most splits
whose leaves stay <= k); a peer whose mean count exceeds k is shown but not counted at k.
Ours at <= k: of the points of our curve with at most k rules, the one cross-validation
on the training rows rates best (the held-out rows choose nothing). "n/a" names why a
peer has no result: RuleFit does not fit multiclass problems (ValueError), and STreeD
alone is not run beyond depth 3, 16 and 32 rules, where its search does not finish in
minutes (RuntimeError).

The chosen size is ``fit_surrogate``'s own: the fewest rules within 0.005 of the best
cross-validated fidelity with 95% confidence. Its target is judged on its curve, the
frontier the fidelity chart draws (per size the point cross-validation rates best, where it
beats every smaller size): the chosen point's held-out fidelity within 0.005 of the
frontier's best, at ≤ 2x the fewest frontier rules within 0.005 of that best. Judged on
every family's every point instead (some 60 held-out scores, each ±0.02 on a few hundred
rows, whose best is mostly luck) the count is given beside it.
"""

from __future__ import annotations

import argparse
import pickle
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.compose import make_column_selector, make_column_transformer
from sklearn.datasets import (
    load_breast_cancer,
    load_diabetes,
    load_wine,
    make_classification,
    make_friedman1,
    make_friedman3,
    make_moons,
    make_regression,
)
from sklearn.ensemble import (
    GradientBoostingClassifier,
    GradientBoostingRegressor,
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, r2_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.svm import SVC
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

sys.path.insert(0, str(Path(__file__).resolve().parent))
from results import versions, write_section

from optiml_widgets.data import build_schema
from optiml_widgets.explainers.surrogate import _TreeEncoder, fit_surrogate, surrogate_samples
from optiml_widgets.model import ModelAdapter

SIZES = (4, 8, 16, 32)
SEEDS = 5
ROWS = 1500  # rows each surrogate explains (the black box saw all of the dataset)
CHOICE_SLACK = 0.005  # target: the chosen size within this of its curve's best held-out


def _frame(X: np.ndarray, prefix: str = "x") -> pd.DataFrame:
    return pd.DataFrame(X, columns=[f"{prefix}{i}" for i in range(X.shape[1])])


def _fair() -> tuple[pd.DataFrame, Any]:
    import statsmodels.api as sm

    data = sm.datasets.fair.load_pandas().data
    return data.drop(columns="affairs"), (data["affairs"] > 0).astype(int)


def _anes96() -> tuple[pd.DataFrame, Any]:
    import statsmodels.api as sm

    data = sm.datasets.anes96.load_pandas().data
    return data.drop(columns=["vote", "logpopul"]), data["vote"].astype(int)


def _randhie() -> tuple[pd.DataFrame, Any]:
    import statsmodels.api as sm

    data = sm.datasets.randhie.load_pandas().data
    return data.drop(columns="mdvis"), np.log1p(data["mdvis"])


def _star98() -> tuple[pd.DataFrame, Any]:
    import statsmodels.api as sm

    data = sm.datasets.star98.load_pandas().data
    share = data["NABOVE"] / (data["NABOVE"] + data["NBELOW"])
    return data.drop(columns=["NABOVE", "NBELOW"]), share


def _penguins() -> tuple[pd.DataFrame, Any]:
    from palmerpenguins import load_penguins

    data = load_penguins().dropna(subset=["species"])
    return data.drop(columns=["species"]), data["species"]


def _penguin_model() -> Any:
    numeric = make_pipeline(SimpleImputer(strategy="median"))
    categories = make_pipeline(
        SimpleImputer(strategy="most_frequent"), OneHotEncoder(handle_unknown="ignore")
    )
    columns = make_column_transformer(
        (numeric, make_column_selector(dtype_include="number")),
        (categories, make_column_selector(dtype_exclude="number")),
    )
    return make_pipeline(columns, RandomForestClassifier(150, random_state=0))


def _xgb_classifier() -> Any:
    from xgboost import XGBClassifier

    return XGBClassifier(n_estimators=200, max_depth=4, random_state=0, n_jobs=2)


def datasets() -> dict[str, tuple[Callable[[], Any], Callable[[], tuple[pd.DataFrame, Any]]]]:
    """name -> (black box, data). Generated data is seeded; the rest ships with packages."""

    def bunch(load: Callable[..., Any]) -> Callable[[], tuple[pd.DataFrame, Any]]:
        return lambda: (load(as_frame=True).data, load(as_frame=True).target)

    def made(make: Callable[..., Any], **kwargs: Any) -> Callable[[], tuple[pd.DataFrame, Any]]:
        def load() -> tuple[pd.DataFrame, Any]:
            X, y = make(random_state=0, **kwargs)
            return _frame(X), y

        return load

    return {
        "breast_cancer + HistGradientBoosting": (
            lambda: HistGradientBoostingClassifier(random_state=0),
            bunch(load_breast_cancer),
        ),
        "imbalanced 5000x20 + RandomForest": (
            lambda: RandomForestClassifier(150, random_state=0, n_jobs=2),
            made(make_classification, n_samples=5000, n_features=20, weights=[0.85]),
        ),
        "statsmodels fair + XGBoost": (_xgb_classifier, _fair),
        "palmerpenguins + RF pipeline (NaN, strings)": (_penguin_model, _penguins),
        "wine (3 classes) + RandomForest": (
            lambda: RandomForestClassifier(150, random_state=0, n_jobs=2),
            bunch(load_wine),
        ),
        "statsmodels anes96 + GradientBoosting": (
            lambda: GradientBoostingClassifier(random_state=0),
            _anes96,
        ),
        "moons + SVC": (
            lambda: SVC(probability=True, random_state=0),
            made(make_moons, n_samples=2000, noise=0.3),
        ),
        "diabetes + RandomForest": (
            lambda: RandomForestRegressor(150, random_state=0, n_jobs=2),
            bunch(load_diabetes),
        ),
        "Friedman #1 + GradientBoosting": (
            lambda: GradientBoostingRegressor(random_state=0),
            made(make_friedman1, n_samples=3000),
        ),
        "Friedman #3 + GradientBoosting": (
            lambda: GradientBoostingRegressor(random_state=0),
            made(make_friedman3, n_samples=3000),
        ),
        "statsmodels randhie + HistGradientBoosting": (
            lambda: HistGradientBoostingRegressor(random_state=0),
            _randhie,
        ),
        "statsmodels star98 + RandomForest": (
            lambda: RandomForestRegressor(150, random_state=0, n_jobs=2),
            _star98,
        ),
        "make_regression 30 + RandomForest": (
            lambda: RandomForestRegressor(100, random_state=0, n_jobs=2),
            made(make_regression, n_samples=3000, n_features=30),
        ),
    }


# -- the peers -------------------------------------------------------------------------


def _figs(classify: bool, size: int, T: np.ndarray, y: np.ndarray) -> tuple[Any, int]:
    """FIGS with the most splits whose leaves (over all its trees) stay <= size."""
    from imodels import FIGSClassifier, FIGSRegressor

    cls = FIGSClassifier if classify else FIGSRegressor
    splits = size - 1
    while True:  # leaves = splits + trees: fewer splits until the leaves fit
        model = cls(max_rules=splits, random_state=0).fit(T, y)
        leaves = int(model.complexity_) + len(model.trees_)
        if leaves <= size or splits == 1:
            return model, leaves
        splits = max(1, min(splits - 1, size - len(model.trees_)))


def peer_fits(classify: bool, size: int) -> dict[str, Callable[[np.ndarray, np.ndarray], Any]]:
    """name -> fit(T, y) returning (fitted model, rules read)."""
    from imodels import (
        HSTreeClassifier,
        HSTreeRegressor,
        RuleFitClassifier,
        RuleFitRegressor,
    )

    tree_cls = DecisionTreeClassifier if classify else DecisionTreeRegressor

    def tree(T: np.ndarray, y: np.ndarray) -> tuple[Any, int]:
        model = tree_cls(max_leaf_nodes=size, random_state=0).fit(T, y)
        return model, int(model.get_n_leaves())

    def hstree(T: np.ndarray, y: np.ndarray) -> tuple[Any, int]:
        cls = HSTreeClassifier if classify else HSTreeRegressor
        base = tree_cls(max_leaf_nodes=size, random_state=0)
        model = cls(estimator_=base).fit(T, y)
        return model, int(base.get_n_leaves()) if hasattr(base, "tree_") else size

    def rulefit(T: np.ndarray, y: np.ndarray) -> tuple[Any, int]:
        cls = RuleFitClassifier if classify else RuleFitRegressor
        # cv=False: the least regularisation within max_rules (cross-validating the lasso
        # took about a minute per fit on these 2 cores).
        model = cls(max_rules=size, cv=False, random_state=0).fit(T, y)
        return model, round(model.complexity_)

    def streed(T: np.ndarray, y: np.ndarray) -> tuple[Any, int]:
        from pystreed import STreeDClassifier, STreeDRegressor

        depth = int(np.log2(size))
        if depth > 3:
            raise RuntimeError("depth > 3 does not finish in minutes")
        if classify:
            model = STreeDClassifier(max_depth=depth, time_limit=60, n_thresholds=5)
        else:
            model = STreeDRegressor(
                optimization_task="regression", max_depth=depth, time_limit=60, n_thresholds=5
            )
        model.fit(T, y)
        return model, int(model.get_n_leaves())

    return {
        "plain decision tree": tree,
        "imodels FIGS": lambda T, y: _figs(classify, size, T, y),
        "imodels HSTree": hstree,
        "imodels RuleFit": rulefit,
        "STreeD alone": streed,
    }


AUG_PEERS = {"plain decision tree", "imodels FIGS", "imodels HSTree"}  # cheap enough twice


# -- one dataset -----------------------------------------------------------------------


@dataclass
class Cell:
    fidelity: list[float] = field(default_factory=list)
    rules: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    error: str = ""

    def mean(self) -> float:
        return float(np.mean(self.fidelity)) if self.fidelity else float("nan")

    def sd(self) -> float:
        return float(np.std(self.fidelity, ddof=1)) if len(self.fidelity) > 1 else 0.0

    def text(self) -> str:
        if not self.fidelity:
            return f"n/a ({self.error})" if self.error else "-"
        return f"{self.mean():.3f} ± {self.sd():.3f} ({np.mean(self.rules):.0f})"


@dataclass
class Result:
    title: str
    rows: int
    metric: str
    cells: dict[str, dict[int, Cell]]
    ours_seconds: list[float]  # wall
    ours_cpu: list[float]
    choice: list[dict[str, Any]]


class Workload:
    """One dataset's black box and rows, built only when a seed needs computing."""

    def __init__(self, make_model: Callable[[], Any], load: Callable) -> None:
        self.make_model, self.load = make_model, load
        self.built: tuple[Any, ...] | None = None

    def get(self) -> tuple[Any, Any, np.ndarray, pd.DataFrame]:
        if self.built is None:
            X_all, y_all = self.load()
            model = self.make_model().fit(X_all, y_all)
            X = X_all.sample(min(ROWS, len(X_all)), random_state=0) if len(X_all) > ROWS else X_all
            schema = build_schema(X)
            self.built = (schema, ModelAdapter(model, X), schema.encode(X), X)
        return self.built  # type: ignore[return-value]


def curve_best(points: list[dict[str, Any]]) -> tuple[float, int]:
    """The best held-out fidelity of ``points`` and the fewest rules within CHOICE_SLACK of it."""
    top = max(p["fidelity"] for p in points)
    return top, min(p["rules"] for p in points if p["fidelity"] >= top - CHOICE_SLACK)


def run_ours(work: Workload, seed: int) -> dict[str, Any]:
    """Ours at one seed: per size the point cross-validation rates best, the choice."""
    schema, adapter, encoded, _ = work.get()
    wall, cpu = time.perf_counter(), time.process_time()
    ours = fit_surrogate(adapter, schema, encoded, random_state=seed)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    sizes = {}
    for size in SIZES:
        inside = [p for p in ours.curve if p["rules"] <= size]
        best = max(inside, key=lambda p: p["validation"])
        sizes[size] = (float(best["fidelity"]), int(best["rules"]), str(best["family"]))
    chosen = ours.chosen
    # Its curve: the frontier the fidelity chart draws (per size the family cross-validation
    # rates best, where it beats every smaller size). Beside it, every family's every point:
    # the best of ~60 held-out scores, each ±0.02 on a few hundred rows, lies above them all.
    top, reaching = curve_best([p for p in ours.curve if p["frontier"]])
    top_any, reaching_any = curve_best(ours.curve)
    choice = {
        "rules": chosen["rules"],
        "family": chosen["family"],
        "fidelity": chosen["fidelity"],
        "top": top,
        "reaching": reaching,
        "met": chosen["fidelity"] >= top - CHOICE_SLACK and chosen["rules"] <= 2 * reaching,
        "met_any": chosen["fidelity"] >= top_any - CHOICE_SLACK
        and chosen["rules"] <= 2 * reaching_any,
    }
    return {
        "sizes": sizes,
        "choice": choice,
        "wall": wall,
        "cpu": cpu,
        "curve": ours.curve,
        "folds": {f"{family}|{rules}": list(v) for (family, rules), v in ours.fold_scores.items()},
        "rows": len(encoded),
        "metric": "accuracy" if adapter.is_classifier else "R²",
    }


def run_peers(work: Workload, seed: int, skip: set[str]) -> dict[str, dict[int, Any]]:
    """Every peer at every size on the same training and held-out rows as ours:
    ``{peer (variant): {size: (fidelity, rules, seconds) or an error's name}}``."""
    schema, adapter, encoded, _ = work.get()
    classify = adapter.is_classifier
    score = accuracy_score if classify else r2_score
    data = surrogate_samples(adapter, schema, encoded, random_state=seed)
    # The matrix the surrogate's families see (categories ranked by the model's output).
    encoder = _TreeEncoder(schema, data.train_X, data.train_y.astype(float))
    real = data.test_is_real
    test_T, test_y = encoder.transform(data.test_X[real]), data.test_y[real]
    aug_T, aug_y = encoder.transform(data.train_X), data.train_y
    real_T, real_y = aug_T[data.train_is_real], aug_y[data.train_is_real]
    out: dict[str, dict[int, Any]] = {}
    for size in SIZES:
        for name, fit in peer_fits(classify, size).items():
            if any(word in name for word in skip):
                continue
            variants = {"real": (real_T, real_y)}
            if name in AUG_PEERS:
                variants["aug"] = (aug_T, aug_y)
            for variant, (T, y) in variants.items():
                try:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        begun = time.perf_counter()
                        fitted, rules = fit(T, y)
                        seconds = time.perf_counter() - begun
                        fidelity = float(score(test_y, fitted.predict(test_T)))
                    found: Any = (fidelity, rules, seconds)
                except Exception as exc:  # e.g. RuleFit on 3 classes
                    found = type(exc).__name__
                out.setdefault(f"{name} ({variant})", {})[size] = found
    return out


def run_dataset(
    title: str,
    work: Workload,
    seeds: list[int],
    cache: Path | None,
    reuse_ours: bool,
    skip: set[str],
) -> Result:
    """Ours and the peers at every seed; each seed's peers (and, with ``reuse_ours``, ours)
    read from ``cache`` when there, computed and kept there otherwise."""
    key = "".join(c if c.isalnum() else "_" for c in title)
    cells: dict[str, dict[int, Cell]] = {"ours": {}}
    ours_seconds, ours_cpu, choice = [], [], []
    for seed in seeds:
        ours_file = cache / f"{key}.s{seed}.ours.pickle" if cache else None
        peers_file = cache / f"{key}.s{seed}.peers.pickle" if cache else None
        if reuse_ours and ours_file is not None and ours_file.exists():
            ours = pickle.loads(ours_file.read_bytes())
        else:
            ours = run_ours(work, seed)
            if ours_file is not None:
                ours_file.parent.mkdir(parents=True, exist_ok=True)
                ours_file.write_bytes(pickle.dumps(ours))
        if peers_file is not None and peers_file.exists():
            peers = pickle.loads(peers_file.read_bytes())
        else:
            peers = run_peers(work, seed, skip)
            if peers_file is not None:
                peers_file.write_bytes(pickle.dumps(peers))
        for size, (fidelity, rules, _) in ours["sizes"].items():
            cell = cells["ours"].setdefault(size, Cell())
            cell.fidelity.append(fidelity)
            cell.rules.append(rules)
        ours_seconds.append(ours["wall"])
        ours_cpu.append(ours["cpu"])
        choice.append(ours["choice"])
        for name, by_size in peers.items():
            for size, found in by_size.items():
                cell = cells.setdefault(name, {}).setdefault(size, Cell())
                if isinstance(found, str):
                    cell.error = found
                    continue
                cell.fidelity.append(found[0])
                cell.rules.append(found[1])
                cell.seconds.append(found[2])
        print(
            f"  {title} seed {seed}: ours {ours['wall']:.1f} s wall, {ours['cpu']:.1f} s CPU",
            flush=True,
        )
    return Result(title, ours["rows"], ours["metric"], cells, ours_seconds, ours_cpu, choice)


def best_baseline(result: Result, size: int) -> tuple[str, Cell] | None:
    """The peer (and variant) with the best mean at <= size rules."""
    found = [
        (name, sizes[size])
        for name, sizes in result.cells.items()
        if name != "ours"
        and size in sizes
        and sizes[size].fidelity
        and np.mean(sizes[size].rules) <= size
    ]
    return max(found, key=lambda item: item[1].mean()) if found else None


@dataclass
class Gap:
    size: int
    gap: float  # ours minus the best peer
    error: float  # the best peer's standard error over the seeds
    peer: str

    @property
    def met(self) -> bool:
        return self.gap >= -self.error

    def mark(self) -> str:
        return f"{self.gap:+.3f}" + ("" if self.met else " !")


def gaps_of(result: Result) -> list[Gap]:
    found = []
    for size in SIZES:
        best = best_baseline(result, size)
        if best is None:
            continue
        name, cell = best
        error = cell.sd() / np.sqrt(len(cell.fidelity))
        found.append(Gap(size, result.cells["ours"][size].mean() - cell.mean(), error, name))
    return found


def choice_met(result: Result, met: str = "met") -> bool:
    """The dataset meets the size-choice target on most seeds (3 of 5): on its frontier
    (``met``), or on every family's every point (``met_any``)."""
    return sum(c.get(met, False) for c in result.choice) / len(result.choice) >= 0.6


def report(result: Result) -> str:
    lines = [
        f"### {result.title}",
        "",
        f"{result.rows:,} rows explained, {result.metric}; ours took "
        f"{statistics.median(result.ours_seconds):.1f} s wall, "
        f"{statistics.median(result.ours_cpu):.1f} s CPU (medians of {len(result.ours_seconds)}).",
        "",
        "| method | " + " | ".join(f"≤{s} rules" for s in SIZES) + " | seconds (all sizes) |",
        "| --- | " + " | ".join("---:" for _ in SIZES) + " | ---: |",
    ]
    for name, sizes in result.cells.items():
        cells = [sizes.get(s, Cell()).text() for s in SIZES]
        if name == "ours":
            seconds = statistics.median(result.ours_seconds)
        else:
            per_seed = [sum(sizes[s].seconds) / max(1, len(sizes[s].seconds)) for s in SIZES]
            seconds = sum(per_seed)
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {seconds:.1f} |")
    verdict = [
        f"≤{g.size}: {g.gap:+.3f} against {g.peer} (1 s.e. {g.error:.3f}) "
        + ("met" if g.met else "**not met**")
        for g in gaps_of(result)
    ]
    chosen_met = sum(c["met"] for c in result.choice)
    lines += [
        "",
        "Ours minus the best peer: " + "; ".join(verdict) + ".",
        "",
        "Chosen size per seed (rules, held-out; best of its curve, the frontier; fewest rules "
        f"within {CHOICE_SLACK} of it): "
        + "; ".join(
            f"{c['rules']} at {c['fidelity']:.3f} (best {c['top']:.3f}, {c['reaching']} rules)"
            for c in result.choice
        )
        + f". Within {CHOICE_SLACK} and ≤ 2x those rules: {chosen_met} of {len(result.choice)} "
        f"(judged on every family's points: {sum(c.get('met_any', False) for c in result.choice)}).",
    ]
    return "\n".join(lines)


def summary_table(results: list[Result]) -> str:
    """Ours minus the best peer per dataset and size (`!`: below the best peer minus one
    standard error), and whether the chosen size met its target on most seeds."""
    lines = [
        "| dataset | " + " | ".join(f"≤{s}" for s in SIZES) + " | size choice met |",
        "| --- | " + " | ".join("---:" for _ in SIZES) + " | ---: |",
    ]
    for result in results:
        by_size = {g.size: g.mark() for g in gaps_of(result)}
        met = sum(c["met"] for c in result.choice)
        lines.append(
            f"| {result.title} | "
            + " | ".join(by_size.get(s, "-") for s in SIZES)
            + f" | {met} of {len(result.choice)} |"
        )
    return "\n".join(lines)


# -- fit time and wide data ------------------------------------------------------------


def _timed(run: Callable[[], Any]) -> tuple[str, Any]:
    """Wall and CPU seconds of one call (CPU: this process's threads; on a shared machine
    the wall time also counts the neighbours), and its result."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = run()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return f"{wall:.1f} s wall, {cpu:.1f} s CPU", result


def timing_section(quick: bool) -> str:
    rows = 3000 if quick else 10_000
    lines = [
        "### Fit time and wide data",
        "",
        "CPU: this process's threads; the optimal trees' solver runs in a process of its own,",
        "whose CPU time is not counted (the wall time includes its work).",
        "",
    ]
    X, y = make_classification(rows, 30, random_state=0)
    X = _frame(X)
    gbc = GradientBoostingClassifier(n_estimators=200, max_depth=3, random_state=0).fit(X, y)
    schema, adapter = build_schema(X), ModelAdapter(gbc, X)
    seconds, ours = _timed(lambda: fit_surrogate(adapter, schema, schema.encode(X)))
    lines.append(
        f"- make_classification({rows:,}, 30) + GradientBoosting(200, depth 3): fit and "
        f"choice {seconds} (target ≤ 10 s), chose {ours.complexity} rules at "
        f"{ours.fidelity:.3f}. Reason: {ours.reason}."
    )
    X, y = make_regression(rows, 30, random_state=0)
    X = _frame(X)
    rf = RandomForestRegressor(100, random_state=0, n_jobs=2).fit(X, y)
    schema, adapter = build_schema(X), ModelAdapter(rf, X)
    seconds, ours = _timed(lambda: fit_surrogate(adapter, schema, schema.encode(X)))
    lines.append(
        f"- make_regression({rows:,}, 30) + RandomForest(100): fit and choice {seconds}, "
        f"chose {ours.family}, {ours.complexity} rules at R² {ours.fidelity:.3f}."
    )
    wide_rows = 2000 if quick else 5000
    X, y = make_classification(wide_rows, 1000, n_informative=30, random_state=0)
    X = _frame(X, "f")
    for name, model in (
        ("HistGradientBoosting", HistGradientBoostingClassifier(random_state=0)),
        ("Pipeline(StandardScaler, LogisticRegression)", None),
    ):
        if model is None:
            model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500))
        model.fit(X, y)
        schema, adapter = build_schema(X), ModelAdapter(model, X)
        encoded = schema.encode(X)
        seconds, ours = _timed(lambda: fit_surrogate(adapter, schema, encoded))  # noqa: B023
        data = surrogate_samples(adapter, schema, encoded, random_state=0)
        real = data.test_is_real
        T = ours.encoder.transform(data.train_X)
        test_T, test_y = ours.encoder.transform(data.test_X[real]), data.test_y[real]
        cells = []
        for size in (4, 8, 16):
            inside = [p for p in ours.curve if p["rules"] <= size]
            point = max(inside, key=lambda p: p["validation"])
            plain = {}
            for variant, keep in (("real", data.train_is_real), ("aug", slice(None))):
                tree = DecisionTreeClassifier(max_leaf_nodes=point["rules"], random_state=0)
                tree.fit(T[keep], data.train_y[keep])
                plain[variant] = accuracy_score(test_y, tree.predict(test_T))
            cells.append(
                f"≤{size}: ours {point['fidelity']:.3f} ({point['rules']} rules), plain tree "
                f"with as many leaves {max(plain.values()):.3f}"
            )
        lines.append(
            f"- make_classification({wide_rows:,}, 1000, n_informative=30) + {name}: fit and "
            f"choice {seconds}, screened to {len(ours.screened or [])} features; "
            + "; ".join(cells)
            + "."
        )
    return "\n".join(lines)


def _seeds(text: str) -> list[int]:
    """``0-4`` or ``10,11`` -> the seeds."""
    if "-" in text:
        first, last = (int(v) for v in text.split("-"))
        return list(range(first, last + 1))
    return [int(v) for v in text.split(",")]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="2 datasets, 2 seeds, no file")
    parser.add_argument("--only", help="run the datasets whose name contains this")
    parser.add_argument(
        "--part", help="i/n: run every n-th dataset from the i-th (0-based), cache, no file"
    )
    parser.add_argument(
        "--cache", type=Path, help="keep each seed's peers (and ours) here; peers are reused"
    )
    parser.add_argument(
        "--reuse-ours", action="store_true", help="read ours from the cache too (assembling)"
    )
    parser.add_argument("--seeds", default=f"0-{SEEDS - 1}", help="e.g. 0-4 or 10,11")
    parser.add_argument("--skip", default="", help="comma-separated peers left out, e.g. RuleFit")
    parser.add_argument("--timing-only", action="store_true", help="only the fit times")
    args = parser.parse_args()
    if args.timing_only:
        timing = timing_section(args.quick)
        print(timing)
        if args.cache:
            args.cache.mkdir(parents=True, exist_ok=True)
            (args.cache / "timing.md").write_text(timing)
        return
    chosen = datasets()
    if args.quick:
        chosen = dict(list(chosen.items())[:1] + list(chosen.items())[8:9])
    if args.only:
        chosen = {k: v for k, v in chosen.items() if args.only.lower() in k.lower()}
    if args.part:
        first, every = (int(v) for v in args.part.split("/"))
        chosen = dict(list(chosen.items())[first::every])
    seeds = [0, 1] if args.quick else _seeds(args.seeds)
    skip = {word for word in args.skip.split(",") if word}
    load = Path("/proc/loadavg").read_text().split()[0] if Path("/proc/loadavg").exists() else "?"
    sections, results = [], []
    for title, (make_model, loader) in chosen.items():
        print(title, flush=True)
        result = run_dataset(
            title, Workload(make_model, loader), seeds, args.cache, args.reuse_ours, skip
        )
        results.append(result)
        sections.append(report(result))
        print(sections[-1], flush=True)
    table = summary_table(results)
    print(table, flush=True)
    gaps = [g for result in results for g in gaps_of(result)]
    mean_gap = float(np.mean([g.gap for g in gaps])) if gaps else float("nan")
    choices = [choice_met(result) for result in results]
    choices_any = [choice_met(result, "met_any") for result in results]
    summary = (
        f"Over {len(sections)} datasets x {len(SIZES)} sizes: ours ≥ the best peer minus one "
        f"standard error in {sum(g.met for g in gaps)} of {len(gaps)} cells (target: all); "
        f"ours minus the best peer on average {mean_gap:+.3f} (target ≥ +0.010). The chosen "
        f"size is within {CHOICE_SLACK} of its curve's best held-out fidelity at ≤ 2x the "
        f"fewest rules reaching it on most seeds in {sum(choices)} of {len(choices)} "
        f"datasets (target ≥ 80%; its curve: the frontier the fidelity chart draws; judged "
        f"on every family's every point instead, {sum(choices_any)} of {len(choices_any)})."
    )
    print(summary, flush=True)
    if args.part or args.quick or args.only or seeds != list(range(SEEDS)):
        return
    timing_file = args.cache / "timing.md" if args.cache else None
    if timing_file is not None and timing_file.exists():
        timing = timing_file.read_text()
    else:
        timing = timing_section(args.quick)
        if timing_file is not None:
            timing_file.write_text(timing)
    print(timing, flush=True)
    body = f"""## Surrogate fidelity against the number of rules

{date.today()}, {versions("optiml_widgets", "scikit-learn", "imodels", "pystreed", "xgboost", "statsmodels", "palmerpenguins", "numpy")}.
2 cores shared with other work (1-minute load average {load} when this section was written):
compare times within a table, or CPU seconds.

{__doc__.split(chr(10) + chr(10), 2)[2].strip()}

Each cell: mean ± sd over {len(seeds)} seeds of held-out fidelity (mean rules read). Seconds:
ours = one whole fit (every family and size, cross-validation, rules); a peer = its fits
at the four sizes, per seed.

**{summary}**

Ours minus the best peer per dataset and size (`!`: below the best peer minus one standard
error of its mean), and the seeds whose chosen size met its target:

{table}

{chr(10).join(s + chr(10) for s in sections)}
{timing}
"""
    write_section("surrogate", body)


if __name__ == "__main__":
    main()
