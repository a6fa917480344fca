"""The text model adapter on small hand-written torch modules (no training, no download):
which layer Integrated Gradients interpolates, what a module must return, and class names."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("captum")
pytest.importorskip("transformers")

import torch

from optiml_widgets.text import toy
from optiml_widgets.text.session import TextSession

torch.set_num_threads(1)

TEXT = "the movie was great"


@pytest.fixture(scope="module")
def tok(tmp_path_factory):
    return toy.tokenizer(tmp_path_factory.mktemp("vocabulary"))


class PositionsFirst(torch.nn.Module):
    """A hand-written layout: the position table declared before the token table."""

    def __init__(self, vocabulary: int, batched: bool = True) -> None:
        super().__init__()
        self.pos = torch.nn.Embedding(32, 8)
        self.tok = torch.nn.Embedding(vocabulary, 8)
        self.out = torch.nn.Linear(8, 2)
        self.batched = batched

    def forward(self, ids):
        at = torch.arange(ids.shape[1])
        h = self.tok(ids) + self.pos(at[None] if self.batched else at)
        return self.out(torch.tanh(h).mean(1))


def ig_of(session: TextSession):
    return session.attribution(0, session.text(0), "ig", 1)


@pytest.mark.parametrize("batched", [True, False])
def test_ig_interpolates_the_embedding_given_the_token_ids(tok, batched):
    # The first nn.Embedding was taken: the position table, the same for a text and its
    # baseline, so every token got 0 and the whole effect was "gap" (or, unbatched,
    # captum failed on shapes).
    torch.manual_seed(0)
    module = PositionsFirst(len(tok), batched).eval()
    session = TextSession(module, [TEXT], tokenizer=tok, explainers=("ig",))
    try:
        assert session.adapter.embeddings() is module.tok
        found = ig_of(session)
        difference = found.details["output"] - found.details["baseline_output"]
        assert abs(difference) > 1e-3
        assert found.details["converged"] and abs(found.details["gap"]) < 1e-3
        assert np.abs(found.values).max() > 0.1 * abs(difference)
    finally:
        session.close()


class TwoTokenTables(torch.nn.Module):
    """Two tables both given the token ids: which one IG should take cannot be told."""

    def __init__(self, vocabulary: int, shift: int = 0) -> None:
        super().__init__()
        self.words = torch.nn.Embedding(vocabulary + shift, 8)
        self.chars = torch.nn.Embedding(vocabulary + shift, 8)
        self.out = torch.nn.Linear(8, 2)
        self.shift = shift

    def forward(self, ids):
        ids = ids + self.shift  # shifted: no table is seen given the ids themselves
        return self.out(torch.tanh(self.words(ids) + self.chars(ids)).mean(1))


@pytest.mark.parametrize("shift", [0, 1])
def test_an_embedding_ig_cannot_tell_is_asked_for_up_front(tok, shift):
    torch.manual_seed(0)
    module = TwoTokenTables(len(tok), shift).eval()
    asked = r"2 torch\.nn\.Embedding layers \(model\.words, model\.chars\).*pass embedding_layer="
    with pytest.raises(ValueError, match=asked):
        TextSession(module, [TEXT], tokenizer=tok, explainers=("ig", "shap"))
    # By default, IG is left out and the user told why; the rest works.
    with pytest.warns(RuntimeWarning, match="no Integrated Gradients: .*" + asked):
        session = TextSession(module, [TEXT], tokenizer=tok)
    assert "ig" not in session.explainer_names and session.explainer_names
    session.close()
    # Named, it is used; without IG nothing is asked.
    session = TextSession(
        module, [TEXT], tokenizer=tok, explainers=("ig",), embedding_layer=module.chars
    )
    try:
        assert session.adapter.embeddings() is module.chars
        # Half of the effect (the other table's is outside IG's path): not all zero.
        assert np.abs(ig_of(session).values).max() > 1e-3
    finally:
        session.close()
    TextSession(module, [TEXT], tokenizer=tok, explainers=("shap_text",)).close()


def tiny_bert(tok):
    """A BERT from a config with transformers' default attention (SDPA on transformers 5)."""
    from transformers import BertConfig, BertForSequenceClassification

    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=len(tok),
        hidden_size=16,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=32,
    )
    return BertForSequenceClassification(config).eval()


def test_a_model_on_sdpa_attention_gives_its_attention_weights(tok):
    # SDPA returns no attention weights: the attention view was silently empty.
    model = tiny_bert(tok)
    used = model.config._attn_implementation
    session = TextSession(model, [TEXT], tokenizer=tok, explainers=("attention",))
    try:
        found = session.attention(0, TEXT)
        assert found is not None and model.config._attn_implementation == used
        ids = torch.tensor([tok(TEXT)["input_ids"]])
        eager = tiny_bert(tok)
        eager.config._attn_implementation = "eager"
        with torch.no_grad():
            theirs = eager(input_ids=ids, output_attentions=True).attentions
        np.testing.assert_allclose(found, np.stack([a[0].numpy() for a in theirs]), atol=1e-6)
        assert session.view(0)["attention"] is not None
    finally:
        session.close()


def test_a_model_that_cannot_switch_to_eager_attention_says_so(tok):
    model = tiny_bert(tok)
    if model.config._attn_implementation == "eager":
        pytest.skip("this transformers version builds models on eager attention")
    model.set_attn_implementation = lambda implementation: None  # one that cannot switch
    with pytest.raises(ValueError, match=r"'sdpa'.*attn_implementation='eager'.*leave 'att"):
        TextSession(model, [TEXT], tokenizer=tok, explainers=("attention",))
    with pytest.warns(RuntimeWarning, match=r"no attention view: .*'sdpa'"):
        session = TextSession(model, [TEXT], tokenizer=tok)
    assert not session.attention_enabled
    session.close()


class Scores(torch.nn.Module):
    """A module whose output is not (texts, classes)."""

    def __init__(self, vocabulary: int, shape: str) -> None:
        super().__init__()
        self.embed = torch.nn.Embedding(vocabulary, 2)
        self.shape = shape

    def forward(self, ids):
        per_token = self.embed(ids)  # (texts, tokens, 2)
        if self.shape == "per token":
            return per_token
        score = per_token.mean(1).sum(-1)  # (texts,)
        return score if self.shape == "per text" else score.sum()


@pytest.mark.parametrize("shape", ["per text", "per token", "one"])
def test_a_module_whose_logits_are_not_texts_by_classes_is_told_so(tok, shape):
    # One score per text was a bare IndexError; per-token logits took the probe text's
    # tokens for classes, then failed with an IndexError on a longer text.
    module = Scores(len(tok), shape).eval()
    with pytest.raises(ValueError, match=r"returned shape .* must return logits of shape \(tex"):
        TextSession(module, [TEXT, "a bad film"], tokenizer=tok, explainers=("shap_text",))


def test_a_function_returning_a_dataframe_names_its_classes_by_its_columns():
    # As the table's panel does; they were "class 0" and "class 1".
    import pandas as pd

    def frame(texts):
        p = np.array([0.2 + 0.6 * ("good" in t) for t in texts])
        return pd.DataFrame({"negative": 1 - p, "positive": p})

    session = TextSession(frame, ["a good day", "a bad day"], explainers=("lime_text",))
    assert session.adapter.classes == ["negative", "positive"] and session.target == "positive"
    session.close()
    session = TextSession(frame, ["a good day"], class_names=["bad", "good"], explainers=())
    assert session.adapter.classes == ["bad", "good"]
    session.close()
    # Names go by position: a dict (its keys were the names), a set (no order) and the
    # model's own classes in another order (each named another's probability) are refused.
    for names in ({0: "bad", 1: "good"}, {"bad", "good"}):
        with pytest.raises(TypeError, match="class_names must be a list with one name per"):
            TextSession(frame, ["a good day"], class_names=names, explainers=())
    with pytest.raises(ValueError, match="are the model's classes .* in another order"):
        TextSession(frame, ["a good day"], class_names=["positive", "negative"], explainers=())
