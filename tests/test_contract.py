"""The payload contract: real payloads from optiml_widgets/payloads.py, checked by tsc
against js/src/types.ts. A field added, removed, renamed or retyped on one side fails here."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import case

from optiml_widgets import explain_widget
from optiml_widgets.export import export_data

JS = Path(__file__).resolve().parent.parent / "js"
TSC = JS / "node_modules" / ".bin" / "tsc"
OUT = JS / "test" / "contract"


def payloads_of(name: str) -> dict[str, object]:
    """Every payload one widget sends, for one of the test models."""
    c = case(name)
    w = explain_widget(c.model, c.X[:120], c.y[:120])
    session = w.session
    first = session.view(1, complete=False, wait=False)
    w.set_features({session.schema.names[0]: session.schema.features[0].max or 1})
    fast = session.view(2, fast=True)
    full = session.view(3)
    surrogate = w.surrogate
    w._wait_idle()
    found: dict[str, object] = {
        "Schema": w._schema,
        "View": [first, fast, full, w._view],
        "SurrogateInfo": w._surrogate if surrogate is not None else None,
        "Progress": w._progress,
        "ExportData": export_data(session, rows=[0, 1, 2]),
        "ExportDataNoData": export_data(session, rows=[0, 1], include_data=False),
    }
    w.close()
    return found


CASES = ["gbc_breast_cancer", "rf_diabetes", "onehot_pipeline", "rf_wine_multiclass"]
TYPES = {"ExportDataNoData": "ExportData"}


def typescript(found: dict[str, dict[str, object]]) -> str:
    lines = [
        "// Written by tests/test_contract.py: real payloads, typed. Do not edit.",
        'import type { ExportData, Progress, Schema, SurrogateInfo, View } from "../../src/types";',
    ]
    for case_name, payloads in found.items():
        for kind, value in payloads.items():
            if value is None:
                continue
            ts_type = TYPES.get(kind, kind)
            values = value if isinstance(value, list) else [value]
            for i, item in enumerate(values):
                text = json.dumps(item, allow_nan=False)
                lines.append(f"export const {case_name}_{kind}_{i}: {ts_type} = {text};")
    return "\n".join(lines) + "\n"


def test_payloads_match_the_typescript_types():
    if not TSC.exists():
        pytest.fail("js/node_modules is missing: run `make js-test` (npm ci) first.")
    found = {name: payloads_of(name) for name in CASES}
    OUT.mkdir(exist_ok=True)
    (OUT / "payloads.generated.ts").write_text(typescript(found))
    config = {
        "extends": "../../tsconfig.json",
        "include": ["../../src/types.ts", "payloads.generated.ts"],
    }
    (OUT / "tsconfig.json").write_text(json.dumps(config))
    node = shutil.which("node")
    assert node, "node is needed for the contract check"
    result = subprocess.run(
        [str(TSC), "--noEmit", "-p", str(OUT / "tsconfig.json")],
        capture_output=True,
        text=True,
        cwd=JS,
        timeout=300,
    )
    assert result.returncode == 0, "Python payloads disagree with js/src/types.ts:\n" + (
        result.stdout + result.stderr
    )


def test_a_drifted_payload_fails_the_check(tmp_path):
    """The check itself: a payload with a renamed field is rejected by tsc."""
    if not TSC.exists():
        pytest.fail("js/node_modules is missing: run `make js-test` (npm ci) first.")
    OUT.mkdir(exist_ok=True)
    bad = OUT / "drift.generated.ts"
    bad.write_text(
        'import type { JobState } from "../../src/types";\n'
        'export const drift: JobState = {"state": "ready", "done": 1, "totl": 1, "message": null};\n'
    )
    config = OUT / "drift.tsconfig.json"
    config.write_text(
        json.dumps({"extends": "../../tsconfig.json", "include": ["drift.generated.ts"]})
    )
    result = subprocess.run(
        [str(TSC), "--noEmit", "-p", str(config)], capture_output=True, text=True, cwd=JS
    )
    assert result.returncode != 0 and "totl" in result.stdout
