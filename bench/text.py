"""The text panel on the toy BERT and a TF-IDF pipeline, beside the raw libraries in one run.

Nothing is downloaded: the BERT is built from a config with a local word vocabulary and
trained for ~250 steps on one thread on generated reviews whose deciding word is known
(optiml_widgets/text/toy.py). Measured:

* correctness on held-out generated sentences without negation (the deciding word is
  unambiguous): how often Integrated Gradients and SHAP text rank it first, and IG's
  completeness gap against the output difference;
* time of the live loop, in the kernel's process (a widget round trip in JupyterLab adds
  ~30 ms, measured in bench/whatif.py): an edit's first answer (the model's output, cached parts),
  a view shown before, the fast view while typing (IG with 16 steps, attention), and the
  exact IG + SHAP after a pause against captum's LayerIntegratedGradients (same steps) plus
  shap's partition explainer (same masker and evaluations) called directly on the same text;
* the same live loop in a real JupyterLab driven by headless Chromium (/usr/bin/chromium):
  per edit, in the page, the panel's own estimate painted, the kernel's first and fast views
  painted and the exact view after the pause (tests/e2e/text_page.py);
* the rule-list surrogate against a plain decision tree on the same word/word-pair features
  and samples, at equal rules (held-out real texts);
* the export: one file, its size, no reference to the network.

Run: .venv/bin/python bench/text.py [--no-write] [--no-browser]
Writes (replaces) the "text" section of bench/RESULTS.md (bench/results.py).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from results import versions, write_section

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch

from optiml_widgets.text import toy
from optiml_widgets.text.session import TextSession
from optiml_widgets.text.surrogate import (
    fit_text_surrogate,
    make_samples,
    phrase_matrix,
)

N_CORRECT = 60  # held-out sentences for IG
N_SHAP = 30  # for SHAP text (a partition explainer per sentence)
N_TIMED = 12  # new texts per timing
BROWSER_EDITS = [  # one edit each, typed over the text before it
    "the acting was superb overall",
    "the acting was superb today",
    "the acting was not superb today",
    "the plot was dull today",
    "the plot was dull and slow",
    "honestly the plot was dull and slow",
    "honestly the plot was great and slow",
    "honestly the plot was great",
    "the plot was great",
    "the plot was great again",
    "the music was great again",
    "the music was bad again",
]


def load() -> float:
    return os.getloadavg()[0]


def ms(values: list[float]) -> float:
    return round(statistics.median(values) * 1000, 1)


def correctness(session: TextSession, plain: list[toy.Sentence]) -> dict[str, float]:
    ig_hits = shap_hits = 0
    shares, converged, steps = [], 0, []
    for i, sentence in enumerate(plain[:N_CORRECT]):
        instance = session.instance(i)
        c = int(np.argmax(instance.outputs))
        found = session.attribution(i, sentence.text, "ig", c)
        top = instance.tokens.strings[int(np.argmax(np.abs(found.values)))]
        ig_hits += top == sentence.deciding
        shares.append(found.details["gap_share"])
        converged += bool(found.details["converged"])
        steps.append(found.details["steps"])
        if i < N_SHAP:
            values = session.attribution(i, sentence.text, "shap_text", c).values
            shap_hits += (
                instance.tokens.strings[int(np.argmax(np.abs(values)))] == sentence.deciding
            )
    n = min(N_CORRECT, len(plain))
    return {
        "ig_top1": ig_hits / n,
        "shap_top1": shap_hits / min(N_SHAP, n),
        "gap_median": statistics.median(shares),
        "gap_max": max(shares),
        "converged": converged / n,
        "steps_median": statistics.median(steps),
        "steps_max": max(steps),
        "n": n,
    }


def timings(session: TextSession, texts: list[str], trained: toy.TrainedToy) -> dict[str, float]:
    import shap
    from captum.attr import LayerIntegratedGradients

    model, tok = trained.model, trained.tokenizer
    first, cached, fast, ours_exact, raw_exact, lime, full = [], [], [], [], [], [], []
    ratios = []
    masker = shap.maskers.Text(tok, mask_token=tok.mask_token, collapse_mask_token=False)
    raw_shap = shap.Explainer(session.adapter.probabilities, masker, algorithm="partition", seed=0)

    def forward(ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return model(input_ids=ids, attention_mask=mask).logits

    raw_ig = LayerIntegratedGradients(forward, model.get_input_embeddings())
    for k, text in enumerate(texts[:N_TIMED]):
        edited = f"{text} again"  # a text nobody has explained yet
        start = time.perf_counter()
        session.view(k, text=edited, cached_only=True, wait=False)
        first.append(time.perf_counter() - start)
        start = time.perf_counter()
        session.view(k, text=edited, cached_only=True, wait=False)
        cached.append(time.perf_counter() - start)
        typed = f"{text} today"
        session.view(k, text=typed, cached_only=True, wait=False)
        start = time.perf_counter()
        session.view(k, text=typed, fast=True, complete=False, wait=False)
        fast.append(time.perf_counter() - start)
        # exact after a pause: IG until complete + SHAP (what the raw libraries do)
        c = session.target_index
        start = time.perf_counter()
        ig = session.attribution(0, edited, "ig", c)
        session.attribution(0, edited, "shap_text", c)
        ours = time.perf_counter() - start
        ours_exact.append(ours)
        start = time.perf_counter()
        encoded = tok(edited, return_tensors="pt")
        ids, mask = encoded["input_ids"], encoded["attention_mask"]
        special = torch.tensor(
            tok.get_special_tokens_mask(ids[0].tolist(), already_has_special_tokens=True)
        ).bool()
        baseline = ids.clone()
        baseline[0, ~special] = tok.mask_token_id
        with torch.no_grad():
            forward(torch.cat([ids, baseline]), torch.cat([mask, mask]))
        raw_ig.attribute(
            ids, baselines=baseline, additional_forward_args=(mask,), target=c,
            n_steps=ig.details["steps"], method="gausslegendre", internal_batch_size=100,
        )  # fmt: skip
        raw_shap([edited], max_evals=500, silent=True)
        raw = time.perf_counter() - start
        raw_exact.append(raw)
        ratios.append(ours / raw)
        start = time.perf_counter()
        session.attribution(0, edited, "lime_text", c)
        lime.append(time.perf_counter() - start)
        other = f"{text} overall"
        start = time.perf_counter()
        session.view(k, text=other, complete=True, wait=False)
        full.append(time.perf_counter() - start)
    return {
        "first_ms": ms(first),
        "cached_ms": ms(cached),
        "fast_ms": ms(fast),
        "exact_ms": ms(ours_exact),
        "raw_ms": ms(raw_exact),
        "ratio": round(statistics.median(ratios), 2),
        "lime_ms": ms(lime),
        "full_ms": ms(full),
    }


def browser_timings() -> dict[str, float]:
    """Medians over BROWSER_EDITS of each answer painted, in ms, in a real JupyterLab."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "e2e"))
    from jupyter_lab import CELLS_DONE, lab_page, open_notebook, run_all_cells
    from text_page import LATENCY_JS, PANEL, SETTLED_JS, write_notebook

    with tempfile.TemporaryDirectory(prefix="optiml-bench-") as tmp:
        root = Path(tmp) / "root"
        root.mkdir()
        write_notebook(root / "text.ipynb")
        with lab_page(root, Path(tmp) / "jupyter-lab.log") as (server, page, errors):
            open_notebook(page, f"{server.url}/lab/tree/text.ipynb?token={server.token}")
            run_all_cells(page)
            page.wait_for_function(CELLS_DONE, timeout=600_000)
            page.wait_for_function(SETTLED_JS, arg=PANEL, timeout=600_000)
            marks = []
            for text in BROWSER_EDITS:
                marks.append(page.evaluate(LATENCY_JS, [PANEL, text]))
                page.wait_for_function(SETTLED_JS, arg=PANEL, timeout=600_000)
            if errors:
                raise RuntimeError(f"page errors: {errors}")
    return {
        name: round(statistics.median(m[name] for m in marks), 1)
        for name in ("estimate", "first", "fast", "exact")
    }


def surrogate_rows(predict, texts_of, label: str, seeds=range(5)) -> list[str]:
    from sklearn.tree import DecisionTreeClassifier

    rows, ours_all, conditions_all = [], [], []
    for seed in seeds:
        texts = texts_of(seed)
        ours = fit_text_surrogate(texts, predict, list(toy.CLASS_NAMES), random_state=seed)
        samples = make_samples(texts, predict, random_state=seed)
        matrix, _ = phrase_matrix(samples)
        X = matrix.toarray()
        fit, test = samples.fit, samples.test & samples.real
        y = samples.labels

        def tree_fidelity(leaves: int, X=X, y=y, fit=fit, test=test, seed=seed) -> float:
            tree = DecisionTreeClassifier(max_leaf_nodes=max(2, leaves), random_state=seed)
            tree.fit(X[fit], y[fit])
            return float(np.mean(tree.predict(X[test]) == y[test]))

        equal = tree_fidelity(ours.complexity)
        # A tree of L leaves reads L - 1 conditions: as many as our phrases.
        conditions = tree_fidelity(ours.phrases + 1)
        best_leaves = max(range(2, 13), key=lambda k, f=tree_fidelity: (f(k), -k))
        ours_all.append(ours.fidelity)
        conditions_all.append(conditions)
        rows.append(
            f"| {label} | {seed} | {len(texts)} | {ours.complexity} ({ours.phrases} phrases) | "
            f"{ours.fidelity:.3f} | {equal:.3f} | {conditions:.3f} | "
            f"{tree_fidelity(best_leaves):.3f} at {best_leaves} leaves |"
        )
    rows.append(
        f"| {label} | mean | | | {np.mean(ours_all):.3f} | | {np.mean(conditions_all):.3f} | |"
    )
    return rows


def export_check(session: TextSession) -> dict[str, object]:
    path = Path(tempfile.mkdtemp()) / "text.html"
    start = time.perf_counter()
    from optiml_widgets.text.export import to_html

    page = to_html(session, path, rows=range(min(20, session.n_texts)), progress=lambda d, t: None)
    seconds = time.perf_counter() - start
    external = re.findall(r"""(?:src|href|import)\s*[=(]\s*["']https?://""", page)
    return {
        "bytes": path.stat().st_size,
        "seconds": round(seconds, 1),
        "external": len(external),
        "heads": page.count('"dtype":"uint8"'),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--no-browser", action="store_true", help="skip the JupyterLab timing")
    args = parser.parse_args()
    torch.set_num_threads(1)
    load_start = load()
    started = time.perf_counter()
    trained = toy.trained()
    train_line = (
        f"{trained.steps} steps in {trained.seconds:.1f} s on 1 thread, held-out accuracy "
        f"{trained.accuracy:.3f}"
    )
    print(train_line, flush=True)
    plain = [s for s in toy.sentences(400, random_state=101) if not s.negated]
    session = TextSession(trained.model, [s.text for s in plain], tokenizer=trained.tokenizer)
    warm = time.perf_counter()
    session.attribution(0, plain[0].text, "shap_text", 1)  # shap compiles its kernels once
    warm = time.perf_counter() - warm
    quality = correctness(session, plain)
    print(quality, flush=True)
    timed = timings(session, [s.text for s in plain[N_CORRECT:]], trained)
    print(timed, flush=True)
    tfidf = toy.tfidf_pipeline()
    rows = surrogate_rows(
        session.adapter.probabilities,
        lambda seed: [s.text for s in toy.sentences(200, random_state=500 + seed)],
        "tiny BERT",
    )
    rows += surrogate_rows(
        tfidf.predict_proba,
        lambda seed: [s.text for s in toy.sentences(240, random_state=600 + seed)],
        "TF-IDF + LR",
    )
    print("\n".join(rows), flush=True)
    exported = export_check(session)
    print(exported, flush=True)
    session.close()
    browser = None if args.no_browser else browser_timings()
    print(browser, flush=True)
    browser_table = (
        "not measured (--no-browser)"
        if browser is None
        else f"""| answer painted after the keystroke | ms |
| --- | ---: |
| the panel's own estimate (the tokens outside the edit keep their values; the prediction without the removed tokens' SHAP values) | {browser["estimate"]} |
| the kernel's first view | {browser["first"]} |
| the kernel's fast view with Integrated Gradients | {browser["fast"]} |
| the exact view (after the typing pause, PAUSE_MS = 400 in js/src/text/panel.ts) | {browser["exact"]} |"""
    )
    load_end = load()
    body = f"""
## Text panel (bench/text.py, {dt.date.today()}, 2 cores, load average {load_start:.1f} at the start, {load_end:.1f} at the end)

{versions("torch", "transformers", "captum", "shap", "lime")}. Toy BERT (2 layers, 4 heads,
hidden 64, word vocabulary written locally, nothing downloaded): {train_line}. Integrated
Gradients on the token embeddings against every word masked, logits; SHAP text: shap's
partition explainer with the tokenizer's masker, 500 evaluations, probabilities.

### Does the deciding word come first? ({quality["n"]} held-out sentences without negation)

| method | deciding word ranked first | completeness gap / output difference | steps |
| --- | --- | --- | --- |
| Integrated Gradients | {quality["ig_top1"]:.0%} | median {quality["gap_median"]:.1e}, max {quality["gap_max"]:.3f}; {quality["converged"]:.0%} within 1 % | median {quality["steps_median"]:.0f}, max {quality["steps_max"]} |
| SHAP text (first {N_SHAP}) | {quality["shap_top1"]:.0%} | exact by construction (base + sum = probability) | 500 evaluations |

### Live loop (median of {N_TIMED} new texts, in the kernel's process)

| step | ours | raw libraries | ratio |
| --- | --- | --- | --- |
| an edit's first answer (tokens, the model's output, cached parts) | {timed["first_ms"]} ms | | |
| a text shown before (cached) | {timed["cached_ms"]} ms | | |
| fast view while typing (IG 16 steps, attention) | {timed["fast_ms"]} ms | | |
| exact after a pause: IG until complete + SHAP text | {timed["exact_ms"]} ms | captum + shap on the same text, same settings: {timed["raw_ms"]} ms | {timed["ratio"]} |
| LIME text (2,000 samples, streamed) | {timed["lime_ms"]} ms | | |
| the whole exact view (IG, SHAP, LIME, attention, rule) | {timed["full_ms"]} ms | | |

shap compiles its numba kernels on its first text in a process: {warm:.1f} s here (once; the
panel is usable meanwhile, SHAP streams in). A token click is answered in the browser at once
with an estimate (the prediction without that token's SHAP value), labelled as such.

### Live loop in JupyterLab (headless Chromium, median of {len(BROWSER_EDITS)} typed edits)

Each edit replaces the text as a keystroke does; times are in the page, to the answer painted.
Targets: the first answer ≤ 50 ms, the fast view ≤ 300 ms.

{browser_table}

### Surrogate: held-out fidelity against the model's labels, ours vs a plain tree

Rule list over words and word pairs (its number of rules chosen by cross-validation over the
fitting texts) vs `DecisionTreeClassifier(max_leaf_nodes=...)` on the same binary
word/word-pair features (600 most frequent), the same texts and perturbations (8 per text,
words dropped), the same held-out 30 % of texts. The tree at equal rules has as many leaves
as our list has rules; at equal conditions it reads as many conditions (leaves - 1) as our
rules name phrases; the best tree is the best of 2 to 12 leaves on the held-out texts
themselves (a ceiling, not a choice a user could make).

| model | seed | texts | our rules | ours | tree, equal rules | tree, equal conditions | best tree, 2 to 12 leaves |
| --- | --- | --- | --- | --- | --- | --- | --- |
{chr(10).join(rows)}

### Export (20 texts)

One file of {exported["bytes"] / 1e6:.2f} MB written in {exported["seconds"]} s, with every
head's map of each text ({exported["heads"]} packed arrays) and the model's output for each
one-word mask or deletion; {exported["external"]} references to the network (the browser
test opens it with the network blocked and counts 0 requests).

Total run {time.perf_counter() - started:.0f} s.
"""
    print(body)
    if not args.no_write:
        write_section("text", body)


if __name__ == "__main__":
    main()
