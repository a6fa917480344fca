"""A tiny text classifier whose right answers are known, built with nothing downloaded.

The corpus is generated: short reviews with exactly one polarity word ("great", "awful"…)
among neutral words, the polarity flipped by a "not" just before it. The polarity word
(with its "not", when there is one) decides the label, so an explanation can be checked
against the truth. On it: a BERT made from a config (a few layers and heads, random
initialisation) with a word-level vocabulary written to a local file, trained for seconds on
CPU; and a scikit-learn TF-IDF + logistic-regression pipeline for the model-agnostic path.

For trying the text panel offline, where what it shows can be checked.
"""

from __future__ import annotations

import functools
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .optional import require_text

POSITIVE = ("good", "great", "excellent", "wonderful", "superb", "lovely")
NEGATIVE = ("bad", "awful", "terrible", "boring", "poor", "dreadful")
NEGATION = "not"
SUBJECTS = (
    "the movie", "this film", "the plot", "the acting", "the music", "the ending",
    "the script", "this show", "the cast", "the story",
)  # fmt: skip
VERBS = ("was", "is", "seemed", "felt", "looked", "sounded")
OPENERS = ("", "", "honestly", "overall", "i think", "frankly", "to me")
TAILS = ("", "", "today", "in the end", "for a sunday", "at times", "to be fair", "again")
SPECIALS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
CLASS_NAMES = ("negative", "positive")


@dataclass(frozen=True)
class Sentence:
    """A generated review: its text, label (1 = positive) and the words that decide it."""

    text: str
    label: int
    polarity_word: str
    negated: bool

    @property
    def deciding(self) -> str:
        """The token that decides the label where it is unambiguous (no negation)."""
        return self.polarity_word


def vocabulary() -> list[str]:
    """Every word the generator uses, after the special tokens (a BERT vocab.txt)."""
    words: list[str] = []
    for group in (POSITIVE, NEGATIVE, (NEGATION,), SUBJECTS, VERBS, OPENERS, TAILS):
        for phrase in group:
            words.extend(phrase.split())
    return [*SPECIALS, *dict.fromkeys(words)]


def sentences(n: int, *, negated_share: float = 0.3, random_state: int = 0) -> list[Sentence]:
    """``n`` generated reviews, half positive (seeded)."""
    rng = np.random.default_rng(random_state)
    out = []
    for _ in range(n):
        positive = bool(rng.random() < 0.5)
        word = str(rng.choice(POSITIVE if positive else NEGATIVE))
        negated = bool(rng.random() < negated_share)
        parts = [
            str(rng.choice(OPENERS)),
            str(rng.choice(SUBJECTS)),
            str(rng.choice(VERBS)),
            NEGATION if negated else "",
            word,
            str(rng.choice(TAILS)),
        ]
        text = " ".join(p for p in parts if p)
        out.append(Sentence(text, int(positive != negated), word, negated))
    return out


def write_vocabulary(directory: str | Path) -> Path:
    """Writes vocab.txt (one token a line) into ``directory``; returns its path."""
    path = Path(directory) / "vocab.txt"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(vocabulary()) + "\n", encoding="utf-8")
    return path


def tokenizer(directory: str | Path | None = None) -> Any:
    """A BERT tokenizer over the generated words, from a vocabulary file written locally."""
    require_text("the toy BERT")
    from transformers import BertTokenizer

    directory = Path(directory) if directory is not None else Path(tempfile.mkdtemp())
    return BertTokenizer(str(write_vocabulary(directory)), do_lower_case=True)


def tiny_bert(
    tok: Any, *, layers: int = 2, heads: int = 4, hidden: int = 64, random_state: int = 0
) -> Any:
    """A randomly initialised BERT classifier (two classes) sized for the toy vocabulary."""
    require_text("the toy BERT")
    import torch
    from transformers import BertConfig, BertForSequenceClassification

    torch.manual_seed(random_state)
    config = BertConfig(  # type: ignore[call-arg]  # the config takes PretrainedConfig's keywords
        vocab_size=len(tok),
        hidden_size=hidden,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        intermediate_size=hidden * 2,
        max_position_embeddings=64,
        num_labels=2,
        pad_token_id=tok.pad_token_id,
        id2label=dict(enumerate(CLASS_NAMES)),
        label2id={name: i for i, name in enumerate(CLASS_NAMES)},
    )
    # Eager attention: the attention weights can be returned (SDPA does not return them).
    config._attn_implementation = "eager"
    return BertForSequenceClassification(config)


@dataclass
class TrainedToy:
    """The trained toy BERT, its tokenizer, and how the training went."""

    model: Any
    tokenizer: Any
    steps: int
    seconds: float
    accuracy: float


def train_tiny_bert(
    *,
    seconds: float = 8.0,
    max_steps: int = 600,
    layers: int = 2,
    heads: int = 4,
    n_train: int = 2000,
    random_state: int = 0,
    directory: str | Path | None = None,
) -> TrainedToy:
    """Trains the toy BERT for at most ``seconds`` (or ``max_steps``) on one CPU thread.

    Words are masked at random during training, so the masked texts that SHAP, LIME and
    Integrated Gradients' baseline show the model are texts it has seen the like of; a text
    whose polarity word is masked has no evidence either way and is taught 50/50.
    """
    require_text("the toy BERT")
    import torch

    tok = tokenizer(directory)
    model = tiny_bert(tok, layers=layers, heads=heads, random_state=random_state)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # more threads than free cores is many times slower here
    try:
        train = sentences(n_train, random_state=random_state)
        test = sentences(400, random_state=random_state + 1)
        rng = np.random.default_rng(random_state)
        optimiser = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.01)
        model.train()
        started, steps = time.perf_counter(), 0
        while steps < max_steps and time.perf_counter() - started < seconds:
            batch = [train[i] for i in rng.integers(0, len(train), 32)]
            masked = [_masked(s, rng, tok.mask_token) for s in batch]
            encoded = tok([text for text, _ in masked], padding=True, return_tensors="pt")
            targets = torch.tensor([target for _, target in masked], dtype=torch.float32)
            logits = model(**encoded).logits
            loss = torch.nn.functional.cross_entropy(logits, targets)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            steps += 1
        took = time.perf_counter() - started
        model.eval()
        with torch.no_grad():
            encoded = tok([s.text for s in test], padding=True, return_tensors="pt")
            predicted = model(**encoded).logits.argmax(-1).numpy()
        accuracy = float(np.mean(predicted == np.array([s.label for s in test])))
    finally:
        torch.set_num_threads(threads)
    return TrainedToy(model, tok, steps, took, accuracy)


def _masked(sentence: Sentence, rng: np.random.Generator, mask: str) -> tuple[str, list[float]]:
    """The sentence with words masked at random, and its soft target (positive last)."""
    words = sentence.text.split()
    hide_polarity = rng.random() < 0.2
    out = []
    for w in words:
        if w == sentence.polarity_word:
            out.append(mask if hide_polarity else w)
        else:
            out.append(mask if rng.random() < 0.2 else w)
    if hide_polarity:
        return " ".join(out), [0.5, 0.5]
    label = float(sentence.label)
    if sentence.negated and out[words.index(NEGATION)] == mask:
        label = 0.5  # "[MASK] great": the masked word may have been "not"
    return " ".join(out), [1.0 - label, label]


def tfidf_pipeline(n_train: int = 2000, random_state: int = 0) -> Any:
    """TF-IDF over words and word pairs + logistic regression, fit on the generated corpus
    (word pairs let it learn "not good")."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    train = sentences(n_train, random_state=random_state)
    model = make_pipeline(
        TfidfVectorizer(ngram_range=(1, 2)), LogisticRegression(C=10.0, max_iter=1000)
    )
    return model.fit([s.text for s in train], [s.label for s in train])


@functools.cache
def trained(steps: int = 250, random_state: int = 0) -> TrainedToy:
    """The toy BERT trained for ``steps`` steps (the same steps every time, so the same
    model), once per process."""
    return train_tiny_bert(seconds=600.0, max_steps=steps, random_state=random_state)
