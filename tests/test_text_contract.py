"""The text payload contract: real payloads from optiml_widgets/text/payloads.py, checked by
tsc against js/src/text/types.ts. A field added, removed, renamed or retyped on one side
fails here."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from optiml_widgets import explain_widget
from optiml_widgets.text import toy
from optiml_widgets.text.export import export_data

JS = Path(__file__).resolve().parent.parent / "js"
TSC = JS / "node_modules" / ".bin" / "tsc"
OUT = JS / "test" / "contract"
TYPES = "TextSchema, TextView, TextSurrogateInfo, TextExportData, HeadReply"


def payloads_of(w) -> dict[str, object]:
    session = w.session
    first = session.view(1, complete=False, wait=False)
    fast = session.view(2, fast=True, text=session.texts[0] + " again")
    cached = session.view(3, cached_only=True, text="a text never seen")
    w.set_text("the plot was not <b>bad</b> constructor")
    w._wait_idle()
    surrogate = w.surrogate
    view = w._view
    found: dict[str, object] = {
        "TextSchema": w._schema,
        "TextView": [first, fast, cached, view],
        "TextSurrogateInfo": w._surrogate if surrogate is not None else None,
        "TextExportData": export_data(session, rows=[0, 1]),
    }
    if session.attention_enabled:
        from optiml_widgets.text.payloads import head_reply

        found["HeadReply"] = [
            head_reply(view["seq"], 0, 1, session.head(0, 1))[0],
            head_reply(view["seq"], 0, 1, None)[0],
        ]
    return found


def typescript(found: dict[str, dict[str, object]]) -> str:
    lines = [
        "// Written by tests/test_text_contract.py: real text payloads, typed. Do not edit.",
        f'import type {{ {TYPES} }} from "../../src/text/types";',
    ]
    for case, payloads in found.items():
        for kind, value in payloads.items():
            if value is None:
                continue
            for i, item in enumerate(value if isinstance(value, list) else [value]):
                text = json.dumps(item, allow_nan=False)
                lines.append(f"export const {case}_{kind}_{i}: {kind} = {text};")
    return "\n".join(lines) + "\n"


def test_text_payloads_match_the_typescript_types():
    if not TSC.exists():
        pytest.fail("js/node_modules is missing: run `make js-test` (npm ci) first.")
    assert shutil.which("node"), "node is needed for the contract check"
    texts = [s.text for s in toy.sentences(40, random_state=3)]
    found = {}
    w = explain_widget(toy.tfidf_pipeline(), texts)
    found["tfidf"] = payloads_of(w)
    w.close()
    pytest.importorskip("torch")
    trained = toy.trained()
    w = explain_widget(trained.model, texts, tokenizer=trained.tokenizer)
    found["bert"] = payloads_of(w)
    w.close()
    OUT.mkdir(exist_ok=True)
    (OUT / "text.generated.ts").write_text(typescript(found))
    config = {
        "extends": "../../tsconfig.json",
        "include": ["../../src/text/types.ts", "text.generated.ts"],
    }
    (OUT / "text.tsconfig.json").write_text(json.dumps(config))
    result = subprocess.run(
        [str(TSC), "--noEmit", "-p", str(OUT / "text.tsconfig.json")],
        capture_output=True,
        text=True,
        cwd=JS,
        timeout=300,
    )
    assert result.returncode == 0, "Python payloads disagree with js/src/text/types.ts:\n" + (
        result.stdout + result.stderr
    )


def test_a_drifted_text_payload_fails_the_check():
    if not TSC.exists():
        pytest.fail("js/node_modules is missing: run `make js-test` (npm ci) first.")
    OUT.mkdir(exist_ok=True)
    bad = OUT / "text-drift.generated.ts"
    bad.write_text(
        'import type { TokensInfo } from "../../src/text/types";\n'
        'export const drift: TokensInfo = {"strings": ["a"], "spans": [[0, 1]], '
        '"specials": [false], "truncated": 0};\n'
    )
    config = OUT / "text-drift.tsconfig.json"
    config.write_text(json.dumps({"extends": "../../tsconfig.json", "include": [bad.name]}))
    result = subprocess.run(
        [str(TSC), "--noEmit", "-p", str(config)], capture_output=True, text=True, cwd=JS
    )
    assert result.returncode != 0 and "specials" in result.stdout
