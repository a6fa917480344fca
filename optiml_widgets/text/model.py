"""One adapter for the three kinds of text classifier: class probabilities for a list of texts.

- ``"transformers"``: a transformers ``*ForSequenceClassification`` model with its tokenizer;
- ``"torch"``: any torch module taking token ids (``module(ids) -> logits``), with a
  transformers tokenizer that makes those ids;
- ``"function"``: anything with ``predict_proba(list[str])`` (a scikit-learn text Pipeline)
  or a callable ``f(list[str]) -> probabilities`` (a DataFrame's columns name the classes).

A text longer than the model takes is cut after the last token that fits, so that every
explainer sees the same text. A torch module's limit is also its position table's, found
by the positions it is given in one short call. A model that states no limit of its own (a
function of texts, a torch module whose config, tokenizer and positions name none) is given
at most ``MAX_TOKENS`` tokens: each
explainer's work grows with the tokens (shap's token tree, LIME's samples, the one-token
edits of an export) while their budgets (500 evaluations, 2,000 samples) resolve no more.

Torch models also give logits, gradients through the embedding layer (Integrated Gradients)
and, for transformers, attention weights. Every model call checks whether its work was
stopped (a closed widget) and runs with a fixed number of torch threads: on a machine
whose cores are busy, more threads than free cores is many times slower.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd

from ..format import counted, short_repr
from ..jobs import check_stopped
from ..model import check_class_names_form, check_class_order, check_distinct_names
from .optional import require_text
from .tokens import Tokens, WordTokenizer, model_tokens, word_tokens

Kind = Literal["transformers", "torch", "function"]
BATCH = 64  # texts per forward pass
# Texts per call of a function of texts: close() stops the work between two calls.
FUNCTION_BATCH = 256
_PROBABILITY_TOLERANCE = 1e-4
# The most tokens of a text explained for a model with no limit of its own (BERT's).
MAX_TOKENS = 512


def model_kind(model: Any) -> Kind:
    """Which of the three kinds ``model`` is, or a TypeError saying what is accepted."""
    module = type(model).__module__ or ""
    is_torch = any(c.__module__.startswith("torch.nn") for c in type(model).__mro__)
    if is_torch and module.startswith("transformers"):
        return "transformers"
    if is_torch:
        return "torch"
    if hasattr(model, "predict_proba") or callable(model):
        return "function"
    raise TypeError(
        f"{type(model).__name__} is not a text classifier: pass a transformers "
        "sequence-classification model with tokenizer=, a torch module taking token ids with "
        "tokenizer=, or a function f(list[str]) -> probabilities (or a fitted Pipeline with "
        "predict_proba)."
    )


class TextModelAdapter:
    """Class probabilities (and for torch models logits) of texts, for any kind of model."""

    def __init__(
        self,
        model: Any,
        tokenizer: Any = None,
        *,
        class_names: Sequence[Any] | None = None,
        torch_threads: int | None = 1,
        embedding_layer: Any = None,
    ) -> None:
        check_class_names_form(class_names)
        self.model = model
        self.kind: Kind = model_kind(model)
        if torch_threads is not None and (
            isinstance(torch_threads, bool)
            or not isinstance(torch_threads, int)
            or torch_threads < 1
        ):
            raise ValueError(
                f"torch_threads must be a number of threads, 1 or more (or None to leave "
                f"torch's own setting), not {torch_threads!r}."
            )
        self.torch_threads = torch_threads
        self._token_tables: list[Any] = []  # the torch module's embeddings given token ids
        # A function that returns a DataFrame of probabilities names its classes by its
        # columns (read on its first call), as the table's panel does.
        self._output_columns: list[Any] | None = None
        # Why a transformers model gives no attention weights (None: it gives them).
        self.no_attention: str | None = None
        if self.kind == "function":
            if tokenizer is not None:  # it was checked, then left unused
                raise TypeError(
                    "tokenizer= is the tokenizer of a transformers model or of a torch module "
                    f"taking token ids; a function of texts ({_name(model)}) is "
                    "explained by words and punctuation marks: leave tokenizer out."
                )
            self.tokenizer: Any = WordTokenizer()
            self.mask_token = WordTokenizer.mask_token
            self.mask_id: int | None = None
            self.mask_kind = "mask"
            self.max_length: int = MAX_TOKENS
            self.own_limit = False
            model_classes = list(getattr(model, "classes_", [])) or None
        else:
            require_text(f"Explaining a {type(model).__name__}", ("torch", "transformers"))
            if tokenizer is None:
                raise TypeError(
                    f"A {type(model).__name__} needs its tokenizer: "
                    "explain_widget(model, texts, tokenizer=tokenizer)."
                )
            if not hasattr(tokenizer, "convert_ids_to_tokens"):
                raise TypeError(
                    f"tokenizer must be a transformers tokenizer, not {type(tokenizer).__name__}."
                )
            self.tokenizer = tokenizer
            self.mask_token, self.mask_id, self.mask_kind = _absent(tokenizer)
            model.eval()
            if self.kind == "transformers":
                with self.threads():
                    self.no_attention = _no_attention_weights(model, tokenizer)
            limits = [_max_length(model, tokenizer)]
            if self.kind == "torch":
                limits.append(self._probe_embeddings())
            own = min((n for n in limits if n is not None), default=None)
            self.max_length = own if own is not None else MAX_TOKENS
            self.own_limit = own is not None
            model_classes = None
        if embedding_layer is not None:
            _check_embedding_layer(embedding_layer, model, self.kind)
        self.embedding_layer = embedding_layer
        self._n_outputs: int | None = None
        names = self._class_names(class_names, model_classes)
        self.classes: list[Any] = names
        self.output_names = [str(c) for c in names]

    # -- what the model is -------------------------------------------------------------
    @property
    def is_torch(self) -> bool:
        """Whether gradients (Integrated Gradients) can be taken through the model."""
        return self.kind != "function"

    @property
    def has_attention(self) -> bool:
        """Whether the model returns attention weights (transformers models do, on eager
        attention or one it can be switched from for a call)."""
        return self.kind == "transformers" and self.no_attention is None

    @property
    def task(self) -> str:
        """ "binary" or "multiclass"."""
        return "binary" if len(self.classes) == 2 else "multiclass"

    @property
    def description(self) -> str:
        """What the model is, for people."""
        kinds = {
            "transformers": "transformers model",
            "torch": "torch module on token ids",
            "function": "function of texts",
        }
        return f"{type(self.model).__name__} ({kinds[self.kind]})"

    # -- tokens ------------------------------------------------------------------------
    def tokenize(self, text: str) -> Tokens:
        """The units ``text`` is explained by (the model's tokens, or words), at most
        ``max_length`` of them: a longer text is cut after the last one that fits."""
        if self.kind == "function":
            return word_tokens(text, self.max_length)
        return model_tokens(self.tokenizer, text, self.max_length)

    def given(self, text: str) -> str:
        """The part of ``text`` the model is given: a function of texts gets the text cut
        after its ``max_length``-th word (a torch model's tokenizer cuts its own input)."""
        if self.kind != "function" or len(text) <= self.max_length:  # no more tokens than chars
            return text
        return word_tokens(text, self.max_length).text

    # -- model calls -------------------------------------------------------------------
    @contextlib.contextmanager
    def threads(self) -> Iterator[None]:
        """Torch's intra-op threads set to ``torch_threads`` for one call (and put back)."""
        if not self.is_torch or self.torch_threads is None:
            yield
            return
        import torch

        before = torch.get_num_threads()
        if before != self.torch_threads:
            torch.set_num_threads(self.torch_threads)
        try:
            yield
        finally:
            if before != self.torch_threads:
                torch.set_num_threads(before)

    def probabilities(self, texts: Sequence[str]) -> np.ndarray:
        """Class probabilities, one row per text (n, classes)."""
        texts = [str(t) for t in texts]
        if self.kind == "function":
            parts = []
            for start in range(0, max(1, len(texts)), FUNCTION_BATCH):
                check_stopped()
                parts.append(self._function_outputs(texts[start : start + FUNCTION_BATCH]))
            return np.concatenate(parts)
        import torch

        logits = self.logits(texts)
        out = torch.softmax(torch.from_numpy(logits).double(), -1).numpy()
        _check_finite(out, texts)
        return out

    def logits(self, texts: Sequence[str]) -> np.ndarray:
        """The torch model's logits, one row per text (n, classes)."""
        import torch

        if self.kind == "torch":
            return self._logits_by_length(texts)
        parts = []
        with self.threads(), torch.no_grad():
            for start in range(0, len(texts), BATCH):
                check_stopped()
                batch = list(texts[start : start + BATCH])
                encoded = self.tokenizer(
                    batch,
                    padding=True,
                    truncation=True,
                    max_length=self.max_length,
                    return_tensors="pt",
                )
                out = self.forward(encoded["input_ids"], encoded["attention_mask"])
                parts.append(out.detach().double().numpy())
        if not parts:
            return np.zeros((0, len(self.classes)))
        return np.concatenate(parts)

    def _logits_by_length(self, texts: Sequence[str]) -> np.ndarray:
        """A torch module takes token ids alone: padded, a text would read its padding
        (its output would depend on the texts batched with it). Texts of one length at a time."""
        import torch

        tokenized = self.tokenizer(list(texts), truncation=True, max_length=self.max_length)
        encoded = tokenized["input_ids"]
        by_length: dict[int, list[int]] = {}
        for i, ids in enumerate(encoded):
            by_length.setdefault(len(ids), []).append(i)
        order: list[int] = []
        parts = []
        with self.threads(), torch.no_grad():
            for rows in by_length.values():
                for start in range(0, len(rows), BATCH):
                    check_stopped()
                    chunk = rows[start : start + BATCH]
                    ids = torch.tensor([encoded[i] for i in chunk], dtype=torch.long)
                    parts.append(self.forward(ids, torch.ones_like(ids)).detach().double().numpy())
                    order.extend(chunk)
        if not parts:
            return np.zeros((0, len(self.classes)))
        out = np.empty_like(np.concatenate(parts))
        out[order] = np.concatenate(parts)
        return out

    def forward(self, ids: Any, attention_mask: Any) -> Any:
        """Logits of token ids (a torch tensor, with gradients when they are on)."""
        try:
            if self.kind == "transformers":
                out = self.model(input_ids=ids, attention_mask=attention_mask)
            else:
                out = self.model(ids)
        except IndexError as exc:  # torch's own says neither the length nor what to do
            raise IndexError(
                f"The model failed on a text of {ids.shape[-1]} tokens ({exc}): one of its "
                "embeddings has no row for an index it was given. A module whose position "
                f"table is shorter takes fewer tokens (this text was given up to "
                f"{self.max_length}): set tokenizer.model_max_length to the number of "
                "positions it has, and texts are cut to that; a module whose vocabulary is "
                "smaller than the tokenizer's needs the tokenizer it was trained with."
            ) from exc
        logits = getattr(out, "logits", out)
        if isinstance(logits, (tuple, list)):
            logits = logits[0]
        shape = tuple(getattr(logits, "shape", ()))
        if len(shape) != 2 or shape[0] != ids.shape[0]:
            # One score per text, or one row per token, was read as classes further on.
            what = f"shape {shape}" if hasattr(logits, "shape") else type(logits).__name__
            raise ValueError(
                f"The model returned {what} for {counted(int(ids.shape[0]), 'text')} of "
                f"{ids.shape[-1]} tokens: it must return logits of shape (texts, classes), one "
                "row of class logits per text (one logit x per text of a binary model: return "
                "torch.stack([torch.zeros_like(x), x], dim=-1))."
            )
        return logits

    def ids(self, tokens: Tokens) -> tuple[Any, Any]:
        """``(input_ids, attention_mask)`` tensors of one tokenized text (batch of one)."""
        import torch

        ids = torch.tensor([list(tokens.ids)], dtype=torch.long)
        return ids, torch.ones_like(ids)

    def baseline_ids(self, tokens: Tokens) -> Any:
        """The text with every non-special token replaced by the mask token: where
        Integrated Gradients starts (the same "absent" as SHAP's and LIME's masks)."""
        import torch

        ids = list(tokens.ids)
        for i in tokens.words:
            ids[i] = self.mask_id
        return torch.tensor([ids], dtype=torch.long)

    def embeddings(self) -> Any:
        """The layer whose output Integrated Gradients interpolates (token embeddings)."""
        if self.embedding_layer is not None:
            return self.embedding_layer
        if self.kind == "transformers":
            return self.model.get_input_embeddings()
        import torch

        tables = [
            (name, module)
            for name, module in self.model.named_modules()
            if isinstance(module, torch.nn.Embedding)
        ]
        if not tables:
            raise ValueError(
                f"{type(self.model).__name__} has no torch.nn.Embedding: pass embedding_layer= "
                "(the layer that turns token ids into vectors) for Integrated Gradients, or "
                "leave 'ig' out of explainers."
            )
        if len(tables) == 1:
            return tables[0][1]
        # Several (token, position, segment tables): the one the probe gave the token ids.
        # The first declared is often the position table, whose output is the same for a
        # text and its baseline: every token would get 0.
        given = [m for _, m in tables if any(m is t for t in self._token_tables)]
        if len(given) == 1:
            return given[0]
        names = ", ".join(f"model.{name}" for name, _ in tables)
        seen = "several of them were" if given else "none of them was seen being"
        raise ValueError(
            f"{type(self.model).__name__} has {len(tables)} torch.nn.Embedding layers "
            f"({names}) and {seen} given the token ids: pass embedding_layer= (the one that "
            "turns token ids into vectors) for Integrated Gradients, or leave 'ig' out of "
            "explainers."
        )

    def attentions(self, tokens: Tokens) -> np.ndarray | None:
        """Attention weights of every layer and head (layers, heads, T, T), or None."""
        if not self.has_attention:
            return None
        import torch

        check_stopped()
        ids, mask = self.ids(tokens)
        with self.threads(), torch.no_grad(), _eager_attention(self.model):
            out = self.model(input_ids=ids, attention_mask=mask, output_attentions=True)
        found = getattr(out, "attentions", None)
        if not found or any(a is None for a in found):
            return None
        return np.stack([a[0].detach().float().numpy() for a in found])

    def _probe_embeddings(self) -> int | None:
        """What one call of a torch module on a short text shows of its ``nn.Embedding``
        layers: those given the token ids (``_token_tables``: Integrated Gradients' layer),
        and the tokens its position table has room for (returned). An embedding given 0,
        1, 2, … (or k, k+1, …) numbers positions. One not named ``*position_embeddings``
        was not found by name, and a longer text failed inside the module with torch's bare
        "index out of range in self". None when no embedding numbers positions (or the call
        fails: the first real call says why)."""
        import torch

        ids = torch.tensor(
            [self.tokenizer("probe probe probe probe")["input_ids"]], dtype=torch.long
        )
        seen: list[tuple[Any, Any]] = []

        def record(module: Any, inputs: tuple[Any, ...]) -> None:
            if inputs and isinstance(inputs[0], torch.Tensor):
                seen.append((module, inputs[0].detach()))

        embeddings = [m for m in self.model.modules() if isinstance(m, torch.nn.Embedding)]
        hooks = [m.register_forward_pre_hook(record) for m in embeddings]
        try:
            with self.threads(), torch.no_grad():
                self.model(ids)
        except Exception:  # the model's first real call reports it
            return None
        finally:
            for hook in hooks:
                hook.remove()
        n = ids.shape[1]
        limits = []
        for module, given in seen:
            if given.dim() == 0 or given.shape[-1] != n or n < 3 or given.dtype != torch.long:
                continue
            row = given.reshape(-1, n)[0]
            if torch.equal(row, ids[0]):
                if not any(module is t for t in self._token_tables):
                    self._token_tables.append(module)
                continue
            if torch.equal(row, torch.arange(n) + row[0]) and module.num_embeddings > row[0]:
                limits.append(int(module.num_embeddings - row[0]))
        return min(limits, default=None)

    @property
    def absent(self) -> str:
        """What a masked word becomes, for people: the mask token, and which of the
        tokenizer's tokens it is when it has no mask token."""
        if self.mask_kind == "mask":
            return str(self.mask_token)
        missing = "mask token" if self.mask_kind == "unknown" else "mask or unknown token"
        return f"{self.mask_token} (the tokenizer's {self.mask_kind} token: it has no {missing})"

    # -- checks ------------------------------------------------------------------------
    def _class_names(
        self, class_names: Sequence[Any] | None, model_classes: list[Any] | None
    ) -> list[Any]:
        n = self.n_outputs()
        if n < 2:
            raise ValueError(
                f"The model gives {n} output per text: the text panel explains classifiers "
                "(one probability or logit per class)."
            )
        if class_names is not None:
            names = list(class_names)
            if len(names) != n:
                raise ValueError(
                    f"class_names has {len(names)} names but the model has {n} classes."
                )
            check_distinct_names(names)
            named = self._output_columns
            if model_classes is not None and len(model_classes) == n:
                check_class_order(names, list(model_classes))
            elif named is not None and len({str(c) for c in named}) == n:
                check_class_order(names, list(named))
            return names
        if model_classes is not None and len(model_classes) == n:
            return model_classes
        named = self._output_columns
        if named is not None and len({str(c) for c in named}) == n:
            return named
        labels = getattr(getattr(self.model, "config", None), "id2label", None)
        if isinstance(labels, dict) and len(labels) == n:
            found = [labels.get(i, labels.get(str(i))) for i in range(n)]
            if all(isinstance(x, str) for x in found):
                return found
        return [f"class {i}" for i in range(n)]

    def n_outputs(self) -> int:
        """How many classes the model scores (one probe call, remembered)."""
        if self._n_outputs is None:
            # Two texts: a function that ignores its batch would pass one.
            probe = (
                self.probabilities(["probe", "a second probe"]) if self.kind == "function" else None
            )
            if probe is None:
                probe = self.logits(["probe"])
            self._n_outputs = int(probe.shape[1])
        return self._n_outputs

    def _function_outputs(self, texts: list[str]) -> np.ndarray:
        model = self.model
        call = model.predict_proba if hasattr(model, "predict_proba") else model
        try:
            out = call(texts)
        except Exception as exc:
            raise ValueError(
                f"The model failed on a list of {len(texts)} strings ({type(exc).__name__}: "
                f"{exc}). It must take list[str] and return class probabilities."
            ) from exc
        if self._output_columns is None and isinstance(out, pd.DataFrame):
            self._output_columns = [c.item() if isinstance(c, np.generic) else c for c in out]
        try:
            out = np.asarray(out, dtype=float)
        except (TypeError, ValueError) as exc:
            raise ValueError(
                f"The model returned {type(out).__name__} that is not numbers ({exc}): it must "
                "return class probabilities, one row per text (predict_proba, not predict)."
            ) from exc
        if out.ndim == 1:  # f(texts) -> P(positive)
            out = np.column_stack([1.0 - out, out])
        if out.ndim != 2 or out.shape[0] != len(texts):
            raise ValueError(
                f"The model returned shape {out.shape} for {len(texts)} texts: it must return "
                "one row of class probabilities per text."
            )
        _check_finite(out, texts)
        sums = out.sum(axis=1)
        if np.any(out < -_PROBABILITY_TOLERANCE) or np.any(np.abs(sums - 1) > 1e-3):
            raise ValueError(
                "The model's outputs are not probabilities (each row must be ≥ 0 and sum "
                "to 1): pass predict_proba, or apply a softmax."
            )
        return out


def _check_finite(out: np.ndarray, texts: Sequence[str]) -> None:
    """A ValueError naming the texts the model gave NaN or infinite probabilities for, and
    what to do, when there are any."""
    bad = np.flatnonzero(~np.isfinite(out).all(axis=1))
    if not len(bad):
        return
    what = "NaN" if np.isnan(out[bad]).any() else "infinite values"
    shown = ", ".join(short_repr(texts[i]) for i in bad[:3])
    raise ValueError(
        f"The model returned {what} for {counted(len(bad), 'text')} of the "
        f"{len(texts)} it was called on (e.g. {shown}): explanations need class "
        "probabilities for every text. Fix the model so that any text gets them: the "
        "explainers also call it on texts with words masked, deleted or replaced, down to "
        "every word masked."
    )


def _name(model: Any) -> str:
    """A function's own name, else its class's (a Pipeline)."""
    name = getattr(model, "__name__", None)
    return name if isinstance(name, str) else type(model).__name__


def _absent(tokenizer: Any) -> tuple[str, int, str]:
    """The token a masked word becomes for every method (SHAP's and LIME's masks as text,
    Integrated Gradients' baseline as an id), and which it is: the mask token, else the
    unknown token, else the padding token (a GPT-2-style tokenizer has only that one). The
    string and the id are one token: a string the tokenizer does not know ("[UNK]" to a
    byte-level BPE) would be read as several ordinary tokens."""
    for kind, attribute in (("mask", "mask"), ("unknown", "unk"), ("padding", "pad")):
        token = getattr(tokenizer, f"{attribute}_token", None)
        token_id = getattr(tokenizer, f"{attribute}_token_id", None)
        if token is not None and token_id is not None:
            return str(token), int(token_id), kind
    raise ValueError(
        "The tokenizer has no mask, unknown or padding token to mask words with: set "
        "tokenizer.mask_token."
    )


def _max_length(model: Any, tokenizer: Any) -> int | None:
    """The most tokens the model takes: its position embeddings, or the tokenizer's limit."""
    limits = []
    positions = getattr(getattr(model, "config", None), "max_position_embeddings", None)
    if isinstance(positions, int) and positions > 0:
        limits.append(positions)
    limits.extend(_position_limits(model))
    own = getattr(tokenizer, "model_max_length", None)
    if isinstance(own, int) and 0 < own < 1_000_000:
        limits.append(own)
    return min(limits) if limits else None


def _position_limits(model: Any) -> list[int]:
    """The tokens each position embedding of the model has room for. One with a padding
    index numbers positions after it (RoBERTa, XLM-R, CamemBERT: from ``padding_idx + 1``),
    so it takes ``padding_idx + 1`` fewer tokens than it has rows (512 of RoBERTa's 514)."""
    import torch

    limits = []
    for name, module in model.named_modules():
        if name.endswith("position_embeddings") and isinstance(module, torch.nn.Embedding):
            skipped = 0 if module.padding_idx is None else module.padding_idx + 1
            if module.num_embeddings > skipped:
                limits.append(module.num_embeddings - skipped)
    return limits


def _attention_used(model: Any) -> Any:
    """The transformers model's attention implementation ("eager", "sdpa", …), if named."""
    return getattr(getattr(model, "config", None), "_attn_implementation", None)


@contextlib.contextmanager
def _eager_attention(model: Any) -> Iterator[None]:
    """The model on eager attention for one call, then back. transformers' default, SDPA
    (and flash attention), returns no attention weights; eager computes the same outputs
    and returns them. Model calls are one at a time (the session's gate)."""
    used = _attention_used(model)
    switch = getattr(model, "set_attn_implementation", None)
    if used in (None, "eager") or switch is None:
        yield
        return
    switch("eager")
    try:
        yield
    finally:
        switch(used)


def _no_attention_weights(model: Any, tokenizer: Any) -> str | None:
    """Why a transformers model cannot give its attention weights (an implementation other
    than eager that cannot be switched for a call), or None when it can."""
    used = _attention_used(model)
    if used in (None, "eager"):
        return None
    switch = getattr(model, "set_attn_implementation", None)
    if switch is not None:
        try:
            switch("eager")  # tried now: a model that cannot is told at once
        except (ValueError, ImportError):
            pass
        else:
            switched = _attention_used(model) == "eager"
            switch(used)
            if switched:
                return None
    # Older transformers fall back to eager by themselves when asked for the weights.
    import torch

    ids = torch.tensor([tokenizer("probe")["input_ids"]], dtype=torch.long)
    try:
        with torch.no_grad():
            found = getattr(model(input_ids=ids, output_attentions=True), "attentions", None)
    except Exception:  # the model's first real call says why
        return None
    if found and all(a is not None for a in found):
        return None
    return (
        f"{type(model).__name__} computes attention with {used!r}, which returns no attention "
        "weights, and cannot be switched to eager attention for a call: load it with "
        "attn_implementation='eager' (from_pretrained(..., attn_implementation='eager'))"
    )


def _check_embedding_layer(layer: Any, model: Any, kind: Kind) -> None:
    """``embedding_layer`` must be one of the torch model's own layers."""
    if kind == "function":
        raise TypeError(
            "embedding_layer is for torch models (Integrated Gradients); a function model "
            "has no layers: leave it out."
        )
    if not any(module is layer for module in model.modules()):
        raise ValueError(
            f"embedding_layer must be a layer of the model (e.g. model.embeddings.word_embeddings"
            f"), not {type(layer).__name__}: Integrated Gradients interpolates that layer's output."
        )
