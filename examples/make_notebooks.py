"""Writes the example notebooks; a cell starting with "#" is markdown (kept as code here so they stay reviewable and in sync).

Run: python examples/make_notebooks.py [--out FOLDER]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).parent

NOTEBOOKS = {
    "quickstart": [
        "# Quick start: why does the model call this tumour malignant?\n\n"
        "A gradient-boosted classifier on scikit-learn's breast-cancer data. The panel shows "
        "what the model relies on overall (click a bar or a point), then, for the selected row, "
        "the SHAP force plot, LIME's weights, the global surrogate's rules and a slider per "
        "feature. Drag a slider and every view updates.",
        "from sklearn.datasets import load_breast_cancer\n"
        "from sklearn.ensemble import GradientBoostingClassifier\n"
        "from sklearn.model_selection import train_test_split\n\n"
        "from optiml_widgets import explain_widget\n\n"
        "data = load_breast_cancer(as_frame=True)\n"
        "X_train, X_test, y_train, y_test = train_test_split(\n"
        "    data.data, data.target, test_size=0.3, random_state=0\n"
        ")\n"
        "model = GradientBoostingClassifier(random_state=0).fit(X_train, y_train)",
        "w = explain_widget(model, X_test, y_test, class_names=list(data.target_names))\nw",
        "## The same numbers without a browser",
        "explanation = w.explanation\n"
        'print(f"P({w.target}) = {explanation.prediction:.3f}")\n'
        'print("top features:", explanation.top_features(3))\n'
        'print(f"surrogate: {w.surrogate.complexity} rules, held-out fidelity {w.surrogate.fidelity:.3f}")\n'
        "print(explanation.rule.text())",
        'w.set_features({"worst concave points": 0.05, "worst area": 600.0})  # the sliders move too\n'
        'print(f"P({w.target}) after the edit = {w.explanation.prediction:.3f}")',
        "## Overall, and what would change the answer\n\n"
        "The global views at the top of the panel are computed once over X_test. The same numbers "
        "are here, and `w.charts` holds the Altair charts to save or restyle. The counterfactual "
        "hint is the smallest change that lands in a surrogate rule with another outcome, checked "
        "with the model itself.",
        "importance = w.global_explanation.importance()\n"
        'print("mean |SHAP| over X_test:")\n'
        "print(importance.head(5).round(4).to_string())\n"
        "hint = w.counterfactual()\n"
        'print("counterfactual:", hint.text() if hint else "none")',
    ],
    "regression": [
        "# Regression: disease progression on scikit-learn's diabetes data",
        "from sklearn.datasets import load_diabetes\n"
        "from sklearn.ensemble import RandomForestRegressor\n\n"
        "from optiml_widgets import explain_widget\n\n"
        "data = load_diabetes(as_frame=True)\n"
        "model = RandomForestRegressor(n_estimators=200, random_state=0).fit(data.data, data.target)",
        "w = explain_widget(model, data.data, data.target)\nw",
        "print(w.surrogate.text())",
        "w.set_features(bmi=0.1)\nprint(round(w.explanation.prediction, 1), w.explanation.top_features(3))",
    ],
    "pipeline_categorical": [
        "# A Pipeline with a string column\n\n"
        "The model one-hot encodes `city` inside a `ColumnTransformer`; every explanation "
        "still has ONE contribution for `city`, in the original columns.",
        "import numpy as np\n"
        "import pandas as pd\n"
        "from sklearn.compose import ColumnTransformer\n"
        "from sklearn.datasets import make_classification\n"
        "from sklearn.ensemble import GradientBoostingClassifier\n"
        "from sklearn.pipeline import Pipeline\n"
        "from sklearn.preprocessing import OneHotEncoder\n\n"
        "from optiml_widgets import explain_widget\n\n"
        "X, y = make_classification(1000, 4, n_informative=3, n_redundant=0, random_state=0)\n"
        'X = pd.DataFrame(X, columns=["income", "age", "debt", "score"])\n'
        "rng = np.random.default_rng(0)\n"
        'X["city"] = rng.choice(["Paris", "Lyon", "Nice", "Lille"], len(X))\n'
        'y = np.where(X["city"].isin(["Paris", "Lyon"]) & (rng.random(len(X)) < 0.35), 1 - y, y)\n'
        "model = Pipeline(\n"
        "    [\n"
        "        (\n"
        '            "encode",\n'
        '            ColumnTransformer([("city", OneHotEncoder(), ["city"])], remainder="passthrough"),\n'
        "        ),\n"
        '        ("classify", GradientBoostingClassifier(random_state=0)),\n'
        "    ]\n"
        ").fit(X, y)",
        'w = explain_widget(model, X, y, class_names=["rejected", "approved"])\nw',
        'print(w.explanation.shap["city"], w.explanation.lime_conditions["city"])\n'
        'w.set_features(city="Nice")\nprint(round(w.explanation.prediction, 3))',
    ],
    "multiclass": [
        "# Multiclass: three wine cultivars\n\nSwitch the explained class in the panel's header "
        '(or with `w.target`); pick a class under "versus" (or set `w.versus`) to ask why the '
        "model says one class and not another.",
        "from sklearn.datasets import load_wine\n"
        "from sklearn.ensemble import RandomForestClassifier\n\n"
        "from optiml_widgets import explain_widget\n\n"
        "data = load_wine(as_frame=True)\n"
        "model = RandomForestClassifier(n_estimators=200, random_state=0).fit(data.data, data.target)",
        "w = explain_widget(model, data.data, data.target, class_names=list(data.target_names))\nw",
        "w.index = 134  # a class_2 wine\n"
        'w.target = "class_2"\n'
        "print(w.target, round(w.explanation.prediction, 3))\n"
        "print(w.surrogate.text())",
        "## Why class_2 and not class_1?\n\n"
        "Every view now explains P(class_2) - P(class_1): SHAP's values add up to that "
        "difference, LIME fits it, and the hint looks for the smallest change to class_1.",
        'w.versus = "class_1"\n'
        "e = w.explanation\n"
        'print(e.target, "vs", e.versus, round(e.prediction, 3), e.top_features(3))\n'
        "hint = w.counterfactual()\n"
        'print(hint.text() if hint else "no small change reaches class_1")',
    ],
    "text": [
        "# Text models: which words decide, and do the explanations agree?\n\n"
        "A tiny BERT built from a config (2 layers, 4 heads, a word vocabulary written locally, "
        "random initialisation: nothing is downloaded), trained for seconds on generated reviews "
        "whose deciding word is known: one polarity word, flipped by a `not` before it. The "
        "panel shows Integrated Gradients (with its completeness gap), SHAP and LIME side by "
        "side, the attention of every head (click one), and rules that mimic the model. Edit "
        "the text, or click a word to mask, delete or replace it: every view updates.",
        "from optiml_widgets import explain_widget\n"
        "from optiml_widgets.text import toy\n\n"
        "trained = toy.trained()  # ~250 training steps on one CPU thread\n"
        "texts = [s.text for s in toy.sentences(60, random_state=7)]\n"
        'print(f"test accuracy {trained.accuracy:.3f} after {trained.steps} steps")',
        "w = explain_widget(trained.model, texts, tokenizer=trained.tokenizer)\nw",
        "## The same numbers without a browser",
        "e = w.explanation  # waits for SHAP and LIME, which stream into the panel\n"
        'print(w.text, "->", e.target, round(e.prediction, 3))\n'
        'print("Integrated Gradients:", e.top_tokens(2, "ig"), "gap", round(e.completeness_gap, 5))\n'
        'print("SHAP:", e.top_tokens(2, "shap_text"))\n'
        'print("rule:", e.rule.text())\n'
        "e.to_shap()  # a shap.Explanation: data are the tokens",
        'w.set_text("honestly the plot was not great")\n'
        "e = w.explanation\n"
        'print(round(e.prediction, 3), e.top_tokens(2, "ig"))',
        "## Any function of texts: a scikit-learn pipeline\n\n"
        "TF-IDF + logistic regression on the same corpus is explained by words with SHAP and "
        "LIME; its rules are fit to its own labels.",
        "pipeline = toy.tfidf_pipeline()\n"
        "wt = explain_widget(pipeline, texts, class_names=list(toy.CLASS_NAMES))\n"
        'print(f"held-out fidelity {wt.surrogate.fidelity:.3f} with {wt.surrogate.complexity} rules")\n'
        "print(wt.surrogate.text())\n"
        "wt.close()",
        "## One offline file\n\nThe export holds each text's explanations, every head's map and "
        "the model's output for each word masked or deleted.",
        "import os\nimport tempfile\n\n"
        'path = os.path.join(tempfile.mkdtemp(), "text_panel.html")\n'
        "w.to_html(path, rows=range(10))\n"
        'print(f"{os.path.getsize(path) / 1e6:.2f} MB")',
    ],
}


def build(name: str, cells: list[str]) -> nbformat.NotebookNode:
    notebook = new_notebook()
    notebook.cells = [
        new_markdown_cell(src) if src.startswith("#") else new_code_cell(src) for src in cells
    ]
    for number, cell in enumerate(notebook.cells):
        cell.id = f"{name}-{number}"  # stable: writing them again changes nothing
    notebook.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    return notebook


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE, help="folder (default: examples/)")
    out = parser.parse_args().out
    for name, cells in NOTEBOOKS.items():
        nbformat.write(build(name, cells), out / f"{name}.ipynb")


if __name__ == "__main__":
    main()
