"""The text export's precomputed one-token edits: each entry keeps its token and action, and
the page rebuilds the edited text (js/src/text/tokens.ts editText). js/test/token-edit-cases.json
holds edit_token's texts for tricky texts; js/test/text.test.ts checks editText and the export
page against it, this module checks it is what Python makes."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from optiml_widgets import explain_widget
from optiml_widgets.text import toy
from optiml_widgets.text.export import export_data
from optiml_widgets.text.payloads import tokens_info
from optiml_widgets.text.tokens import Tokens, edit_token, word_tokens

CASES_FILE = Path(__file__).resolve().parent.parent / "js" / "test" / "token-edit-cases.json"
REPLACEMENT = "nice 👍"

TRICKY = {
    "emoji": "I 😀😀 love this great movie 👍🏽",
    "zwj, flags and keycaps": "family 👨\u200d👩\u200d👧 day 🇫🇷 1\ufe0f\u20e3 fun 👍🏽",
    "astral letters": "\U0001d49c great 😀 film 😀",
    "hebrew": "הסרט היה נהדר מאוד",
    "arabic with direction marks": "\u200f\u0627\u0644\u0641\u064a\u0644\u0645 \u0643\u0627\u0646 \u0631\u0627\u0626\u0639\u0627\u200f",
    "persian non-joiner and an override": "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645 a\u202eb",
    "devanagari": "यह फ़िल्म अच्छी थी",
    "spaces around tokens": "  great   movie  was  fine ",
    "tabs and newlines": "\tgreat movie\r\nwas fine\n",
    "what strip() strips and trim() does not": "\x1cgreat movie\x85",
    "what trim() strips and strip() does not": "\ufeffgreat movie",
    "wide spaces": "\xa0great\xa0movie\u3000",
    "signs against words": "great,movie!!! (really)",
    "runs of spaces and blank lines": "Title:  GREAT\n\nthe plot    was fine here\n",
    "one token": "great",
}
LONG = "the film 😀 was great " * 6 + "👨\u200d👩\u200d👧 and the ending  was  bad " * 8


def _with_specials(tokens: Tokens) -> Tokens:
    """The tokens as a transformers model has them: [CLS] first and [SEP] last, no spans."""
    return Tokens(
        text=tokens.text,
        strings=("[CLS]", *tokens.strings, "[SEP]"),
        spans=(None, *tokens.spans, None),
        special=(True, *(False for _ in tokens.strings), True),
        ids=(101, *tokens.ids, 102),
        truncated=tokens.truncated,
    )


def case(name: str, text: str, tokens: Tokens, mask: str) -> dict[str, object]:
    """A text, its tokens as a view sends them, and edit_token's text for each edit."""
    edits = []
    for i in tokens.words:
        for action, replacement in (("mask", ""), ("delete", ""), ("replace", REPLACEMENT)):
            edited = edit_token(tokens, i, action, mask, replacement, text=text)
            edits.append({"token": i, "action": action, "text": edited})
    return {
        "name": name,
        "text": text,
        "tokens": tokens_info(tokens),
        "mask": mask,
        "replacement": REPLACEMENT,
        "edits": edits,
    }


def token_edit_cases() -> list[dict[str, object]]:
    found = [case(name, text, word_tokens(text), "...") for name, text in TRICKY.items()]
    found.append(
        case("specials", TRICKY["emoji"], _with_specials(word_tokens(TRICKY["emoji"])), "[MASK]")
    )
    cut = word_tokens(LONG, max_length=12)
    assert cut.truncated > 0
    found.append(case("truncated long text", LONG, cut, "..."))
    found.append(case("truncated, with specials", LONG, _with_specials(cut), "[MASK]"))
    return found


def test_the_shared_cases_are_what_edit_token_makes():
    fresh = token_edit_cases()
    if os.environ.get("OPTIML_UPDATE_FIXTURE"):
        CASES_FILE.write_text(json.dumps(fresh, indent=1) + "\n", encoding="utf-8")
    stored = json.loads(CASES_FILE.read_text(encoding="utf-8"))
    assert stored == fresh, (
        "js/test/token-edit-cases.json is stale: rerun this test with OPTIML_UPDATE_FIXTURE=1"
    )


def test_the_cases_cover_first_and_last_tokens_and_deletions_that_tidy_their_spaces():
    cases = {c["name"]: c for c in token_edit_cases()}
    spaced = cases["spaces around tokens"]
    # A deletion takes the spaces beside the token along (one stays between two words);
    # the text's other spaces stay as they were.
    assert [e["text"] for e in spaced["edits"] if e["action"] == "delete"] == [
        "movie  was  fine ",
        "  great was  fine ",
        "  great   movie fine ",
        "  great   movie  was",
    ]
    lines = cases["runs of spaces and blank lines"]
    deleted = [e["text"] for e in lines["edits"] if e["action"] == "delete"]
    assert deleted[-1] == "Title:  GREAT\n\nthe plot    was fine\n"  # was: "…was fine"
    assert deleted[0] == ":  GREAT\n\nthe plot    was fine here\n"
    assert deleted[3] == "Title:  GREAT\n\nplot    was fine here\n"
    cut = cases["truncated long text"]
    # The tail beyond the model's limit stays as it is.
    tail = LONG[-40:]
    assert all(e["text"].endswith(tail) for e in cut["edits"])
    assert cases["specials"]["edits"][0]["token"] == 1


@pytest.fixture(scope="module")
def tfidf():
    return toy.tfidf_pipeline()


def test_the_export_keeps_no_edited_text_and_the_page_rebuilds_what_the_model_was_given(tfidf):
    texts = list(TRICKY.values())
    w = explain_widget(tfidf, texts)
    try:
        rows = [0, 1, 7]
        data = export_data(w.session, rows=rows)
        for position, index in enumerate(rows):
            view = data["views"][position]
            tokens = w.session.instance(index, texts[index]).tokens
            # What the page rebuilds from: the whole text and the tokens the edits were made on.
            assert view["text"] == texts[index] and view["tokens"] == tokens_info(tokens)
            entries = data["edits"][position]
            assert entries and all(
                set(e) == {"token", "action", "prediction", "probabilities"} for e in entries
            )
            edited = [
                edit_token(tokens, e["token"], e["action"], "...", text=texts[index])
                for e in entries
            ]
            expected = tfidf.predict_proba(edited)
            assert np.array([e["probabilities"] for e in entries]) == pytest.approx(expected)
    finally:
        w.close()


def test_rows_of_a_text_export_are_checked_as_a_tables_are(tfidf):
    from optiml_widgets.text.export import MAX_TEXTS, choose_rows, to_html

    w = explain_widget(tfidf, ["a great film", "an awful plot", "fine"], explainers=("lime_text",))
    try:
        assert choose_rows(w.session, None) == [0, 1, 2]
        assert choose_rows(w.session, [2, 0, 2]) == [2, 0]
        for bad in ([1.7], [True], ["2"], "12"):
            with pytest.raises(TypeError, match="rows must .*text numbers"):
                w.to_html(rows=bad)
        with pytest.raises(ValueError, match=rf"at most {MAX_TEXTS} .*rows=range\({MAX_TEXTS}\)"):
            w.to_html(rows=range(MAX_TEXTS + 1))
        with pytest.raises(ValueError, match="out of range"):
            w.to_html(rows=[3])
        with pytest.raises(ValueError, match="rows is empty"):
            w.to_html(rows=[])
        page = to_html(w.session, rows=[1], title="<texts>")
        assert "<title>&lt;texts&gt;</title>" in page and "img-src data: blob:;" in page
    finally:
        w.close()


def test_a_long_texts_export_grows_with_the_text_not_with_tokens_times_text(tfidf):
    """Each edit stored the whole edited text: 1,024 copies of a 512-word text's tail."""
    words = " ".join(s.text for s in toy.sentences(800, random_state=3))
    long, longer = words[:10_000], words[:20_000]
    assert len(longer) == 20_000
    w = explain_widget(tfidf, [long, longer])
    try:
        sizes = []
        for row in (0, 1):
            page = w.to_html(rows=[row])
            data = json.loads(page.split('id="optiml-data">', 1)[1].split("</script>", 1)[0])
            assert len(data["edits"][0]) == 2 * 512  # the model's limit: as many tokens each
            sizes.append(len(page))
    finally:
        w.close()
    assert sizes[1] - sizes[0] < 10 * (len(longer) - len(long))
