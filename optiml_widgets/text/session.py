"""The text session: model, texts and token explainers, the current text with its edit, views.

It mirrors the tabular session (session.py): an instance is (text index, edited text);
everything it needs is computed once (memo.py), keyed by the instance, the explainer, the
class and the quality, so a text shown before costs no model call. The explainers marked
``streamed`` (SHAP text, LIME text) and the surrogate are computed in background jobs
(jobs.py); a view asked for with ``wait=False`` lists what is still coming in ``pending``.
Every model call holds the session's gate, which lets live requests go first.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from ..explainers.base import (
    REGISTRY,
    Attribution,
    Explainer,
    build,
    check_names,
    check_random_state,
)
from ..inputs import align_by_index
from ..jobs import Cancelled, Gate, Jobs, PanelHooks, Progress, Stop, check_stopped
from ..memo import Memo
from ..model import class_position, classes_as_given
from ..progress import wait_for_job
from ..warn import warn_caller
from . import integrated_gradients, lime_text, payloads, shap_text  # noqa: F401 -- registers them
from .context import TextContext
from .explanation import TextExplanation
from .model import MAX_TOKENS, TextModelAdapter
from .surrogate import TextSurrogate, fit_text_surrogate
from .tokens import TokenEdit, Tokens, edit_token

SURROGATE = "surrogate"
ATTENTION = "attention"
TORCH_EXPLAINERS = ("ig", "shap_text", "lime_text", ATTENTION, SURROGATE)
FUNCTION_EXPLAINERS = ("shap_text", "lime_text", SURROGATE)
# The tabular names mean the same methods on text.
ALIASES = {"shap": "shap_text", "lime": "lime_text", "integrated_gradients": "ig"}
MAX_TEXT_CHARS = 100_000
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_SURROGATE_PAIR = re.compile(r"[\ud800-\udbff][\udc00-\udfff]")
SURROGATE_QUIET = 10.0  # seconds of waiting for the surrogate before a progress bar shows


@dataclass(frozen=True)
class TextInstance:
    """A text of the session (maybe edited), tokenized, with the model's probabilities."""

    index: int
    key: tuple[int, str]
    tokens: Tokens
    outputs: np.ndarray


def check_texts(texts: Any) -> list[str]:
    """The texts as a list of strings, or a clear error."""
    if isinstance(texts, pd.Series):
        values = texts.tolist()
    elif isinstance(texts, (list, tuple)):
        values = list(texts)
    elif isinstance(texts, np.ndarray) and texts.ndim == 1:
        values = texts.tolist()  # numpy's str_ and bytes_ become str and bytes
    elif isinstance(texts, (str, bytes)):
        raise TypeError(
            f"texts must be a list of texts, not one {type(texts).__name__}: for one text "
            "pass [text]."
        )
    else:
        raise TypeError(
            "texts must be a list (or pandas Series, or 1-D array) of strings, not "
            f"{type(texts).__name__}."
        )
    if not values:
        raise ValueError("texts is empty: pass at least one text to explain.")
    bad = [i for i, v in enumerate(values) if not isinstance(v, str)]
    if bad:
        missing = [i for i in bad if pd.api.types.is_scalar(values[i]) and pd.isna(values[i])]
        if missing:
            raise TypeError(
                f"texts must hold strings only; item {missing[0]} is missing "
                f"({values[missing[0]]}): drop the missing texts first (e.g. texts.dropna())."
            )
        item = values[bad[0]]
        decode = ": decode it first, e.g. b.decode('utf-8')" if isinstance(item, bytes) else "."
        raise TypeError(
            f"texts must hold strings only; item {bad[0]} is {type(item).__name__}{decode}"
        )
    long = [i for i, v in enumerate(values) if len(v) > MAX_TEXT_CHARS]
    if long:  # as an edited text is: explaining it would take minutes with no word
        raise ValueError(
            f"Text {long[0]} has {len(values[long[0]]):,} characters; at most "
            f"{MAX_TEXT_CHARS:,}. Explain a passage of it (e.g. text[:{MAX_TEXT_CHARS}])."
        )
    for i, text in enumerate(values):
        _check_no_surrogate(text, f"Text {i}")
    return values


def _check_no_surrogate(text: str, name: str) -> None:
    """A clear error for a text holding a UTF-16 surrogate: half of a pair is no character
    and UTF-8 cannot encode it, so a tokenizer failed on it with an error about its own
    input types (and the page could not be sent the text)."""
    found = _SURROGATE.search(text)
    if found is None:
        return
    at = found.start()
    if _SURROGATE_PAIR.match(text, at):
        raise ValueError(
            f"{name} has a UTF-16 surrogate pair at character {at} (text[{at}:{at + 2}]): "
            "the two halves of one character kept apart, which no tokenizer can read; join "
            "them with text.encode('utf-16', 'surrogatepass').decode('utf-16')."
        )
    raise ValueError(
        f"{name} has a lone surrogate U+{ord(text[at]):04X} at character {at} "
        f"(text[{at}]): half of a UTF-16 pair, not a character, so no tokenizer can read it; "
        "fix the decoding that made it, or drop it with "
        "text.encode('utf-8', 'ignore').decode('utf-8')."
    )


def choose_explainers(explainers: Any, adapter: TextModelAdapter) -> tuple[str, ...]:
    """The chosen names (aliases resolved), with the defaults of the model's kind."""
    chosen: tuple[str, ...]
    if explainers is None:
        chosen = TORCH_EXPLAINERS if adapter.is_torch else FUNCTION_EXPLAINERS
        if adapter.no_attention is not None:  # a transformers model's attention left out
            warn_caller(f"optiml_widgets: no attention view: {adapter.no_attention}.")
    else:
        if isinstance(explainers, str):
            explainers = (explainers,)
        names = tuple(ALIASES.get(e, e) if isinstance(e, str) else e for e in explainers)
        chosen = check_names(names, unit="token", extra=(ATTENTION, SURROGATE))
        if not adapter.is_torch and "ig" in chosen:
            raise ValueError(
                "Integrated Gradients needs a torch model (gradients through its embeddings); "
                f"{adapter.description} has none: leave 'ig' out of explainers."
            )
        if ATTENTION in chosen and adapter.no_attention is not None:
            raise ValueError(f"{adapter.no_attention}; or leave 'attention' out of explainers.")
        if ATTENTION in chosen and not adapter.has_attention:
            raise ValueError(
                f"{adapter.description} returns no attention weights (transformers models do): "
                "leave 'attention' out of explainers."
            )
    if "ig" in chosen:
        try:
            adapter.embeddings()  # which layer IG interpolates, or what to pass: before any work
        except ValueError as exc:
            if explainers is not None:
                raise
            # A default explainer the model cannot have is left out, and the user told why.
            warn_caller(f"optiml_widgets: no Integrated Gradients: {exc}")
            chosen = tuple(name for name in chosen if name != "ig")
    return chosen


class TextSession:
    """Explains a text classifier on a list of texts, one text at a time, with edits."""

    def __init__(
        self,
        model: Any,
        texts: Any,
        y: Any = None,
        *,
        tokenizer: Any = None,
        class_names: Sequence[Any] | None = None,
        explainers: Iterable[str] | None = None,
        random_state: int = 0,
        torch_threads: int | None = 1,
        embedding_layer: Any = None,
    ) -> None:
        self.texts = check_texts(texts)
        random_state = check_random_state(random_state)
        self.adapter = TextModelAdapter(
            model,
            tokenizer,
            class_names=class_names,
            torch_threads=torch_threads,
            embedding_layer=embedding_layer,
        )
        self.explainer_names = choose_explainers(explainers, self.adapter)
        if isinstance(y, pd.Series) and isinstance(texts, pd.Series):
            y = align_by_index(y, texts.index)  # by label, as a table's y is to X's rows
        self.y = _check_y(y, len(self.texts))
        self.random_state = random_state
        self.context = TextContext(self.adapter, random_state)
        self.jobs = Jobs()
        self.gate = Gate()
        self.memo = Memo()
        self.index = 0
        self.edits: dict[int, str] = {}  # index -> edited text
        self.target_index = self._default_target()
        self.hooks = PanelHooks()  # the panel's (``start``)

    # -- lifecycle ---------------------------------------------------------------------
    def start(self, hooks: PanelHooks | None = None) -> None:
        """Start the slow work, from one job (Jobs.start): the streamed explainers (built
        and warmed up), the surrogate, then ``hooks.then``."""
        self.hooks = hooks = hooks or PanelHooks()
        steps: list[Callable[[], Any]] = [
            partial(self.jobs.submit, f"explainer:{name}", self._builder(name))
            for name in self.local_names
            if REGISTRY[name].streamed
        ]
        if self.surrogate_enabled:
            steps.append(self._surrogate_job)
        if hooks.then is not None:
            steps.append(hooks.then)
        self.jobs.start(steps)

    def close(self) -> None:
        """Stop every background job at once."""
        self.jobs.close()

    # -- the current text ---------------------------------------------------------------
    @property
    def n_texts(self) -> int:
        return len(self.texts)

    @property
    def target(self) -> Any:
        """The explained class."""
        return self.adapter.classes[self.target_index]

    def text(self, index: int | None = None) -> str:
        """The text as it is now (its edit, or the original)."""
        index = self.index if index is None else index
        return self.edits.get(index, self.texts[index])

    def check_index(self, index: Any) -> int:
        """A valid text number, or a clear error."""
        if isinstance(index, (bool, np.bool_)) or not isinstance(index, (int, np.integer)):
            raise TypeError(f"index must be an int text number, not {type(index).__name__}.")
        if not 0 <= int(index) < self.n_texts:
            raise ValueError(
                f"index {index} is out of range: there are texts 0..{self.n_texts - 1}."
            )
        return int(index)

    def check_text(self, text: Any) -> str:
        """An edited text, or a clear error."""
        if not isinstance(text, str):
            raise TypeError(f"The edited text must be a string, not {type(text).__name__}.")
        if len(text) > MAX_TEXT_CHARS:
            raise ValueError(f"The text has {len(text):,} characters; at most {MAX_TEXT_CHARS:,}.")
        _check_no_surrogate(text, "The edited text")
        return text

    def check_target(self, target: Any) -> int:
        """The position of a class label (or its text), or a clear error."""
        classes = self.adapter.classes
        position = class_position(classes, target)
        if position is None:
            raise ValueError(
                f"Unknown target {target!r}: choose one of {classes_as_given(classes)}."
            )
        return position

    def edited_token_text(
        self, i: int, action: TokenEdit, replacement: str = "", index: int | None = None
    ) -> str:
        """The current text with token ``i`` masked, deleted or replaced (all of it: past
        the model's limit too)."""
        text = self.text(index)
        tokens = self.instance(index, text).tokens
        return self.check_text(
            edit_token(tokens, i, action, self.adapter.mask_token, replacement, text)
        )

    # -- explainers ------------------------------------------------------------------
    @property
    def local_names(self) -> list[str]:
        """The chosen token explainers, in the registry's order."""
        names = [n for n in REGISTRY if n in self.explainer_names and REGISTRY[n].unit == "token"]
        return sorted(names, key=lambda n: getattr(REGISTRY[n], "order", 0))

    def local_explainers(self) -> list[type[Explainer]]:
        return [REGISTRY[n] for n in self.local_names]

    def explainer(self, name: str, *, wait: bool = True) -> Explainer | None:
        """A chosen explainer, built once; with ``wait=False`` None until it is built (``start``
        builds the streamed ones in a job)."""
        key = ("explainer", name)
        if wait:
            return self.memo.get(key, lambda: build(name, self.context))
        return self.memo.peek(key)

    def _builder(self, name: str) -> Callable[[Stop, Progress], Explainer | None]:
        """A job that builds explainer ``name`` in the background."""

        def build_it(_stop: Stop, _progress: Progress) -> Explainer | None:
            return self.explainer(name)

        return build_it

    @property
    def attention_enabled(self) -> bool:
        return ATTENTION in self.explainer_names and self.adapter.has_attention

    @property
    def surrogate_enabled(self) -> bool:
        return SURROGATE in self.explainer_names

    # -- computing ----------------------------------------------------------------------
    def instance(self, index: int | None, text: str | None = None) -> TextInstance:
        """A text (default: the current one) tokenized, with the model's outputs (cached)."""
        index = self.index if index is None else index
        text = self.text(index) if text is None else text

        def compute() -> TextInstance:
            check_stopped()
            with self.gate.hold():
                tokens = self.adapter.tokenize(text)
                outputs = self.adapter.probabilities([tokens.text])[0]
            return TextInstance(index, (index, text), tokens, outputs)

        return self.memo.get(("instance", index, text), compute)

    def attribution(
        self,
        index: int,
        text: str,
        name: str,
        output: int,
        *,
        fast: bool = False,
        wait: bool = True,
    ) -> Attribution | None:
        """One explainer's attribution of a text for one class (cached). An exact result
        serves a fast request too. With ``wait=False``: only what is already there."""
        explainer = self.explainer(name, wait=wait)
        if explainer is None:
            return None
        instance = self.instance(index, text)
        exact_key = ("attribution", instance.key, name, output, "exact")
        fast_key = ("attribution", instance.key, name, output, "fast")
        found = self.memo.peek(exact_key)
        if found is None and fast and explainer.has_fast:
            found = self.memo.peek(fast_key)
        if found is None:
            if not wait:
                return None
            quick = fast and explainer.has_fast

            def compute() -> Attribution:
                with self.gate.hold():
                    return explainer.explain([instance.tokens], [output], fast=quick)[0][output]

            found = self.memo.get(fast_key if quick else exact_key, compute)
        return found

    def attention(self, index: int, text: str) -> np.ndarray | None:
        """Attention weights (layers, heads, T, T) of a text, or None (cached)."""
        if not self.attention_enabled:
            return None
        instance = self.instance(index, text)

        def compute() -> np.ndarray | None:
            with self.gate.hold():
                return self.adapter.attentions(instance.tokens)

        return self.memo.get(("attention", instance.key), compute)

    def head(
        self, layer: int, head: int, index: int | None = None, text: str | None = None
    ) -> np.ndarray | None:
        """One head's token-to-token map (T, T) of a text (default: the current one); the
        rollout when ``layer`` is -1."""
        index = self.index if index is None else index
        text = self.text(index) if text is None else text
        weights = self.attention(index, text)
        if weights is None:
            return None
        if layer == -1:
            from .attention import rollout

            return rollout(weights)
        if not (0 <= layer < weights.shape[0] and 0 <= head < weights.shape[1]):
            raise ValueError(
                f"No head ({layer}, {head}): the model has {weights.shape[0]} layers x "
                f"{weights.shape[1]} heads."
            )
        return weights[layer, head]

    # -- the surrogate -------------------------------------------------------------------
    @property
    def surrogate(self) -> TextSurrogate | None:
        """The rule-list surrogate, waiting for its fit (with progress) if needed."""
        if not self.surrogate_enabled:
            return None
        # The fit takes seconds: a bar only when it is still running after SURROGATE_QUIET.
        found: TextSurrogate = wait_for_job(
            self.jobs,
            SURROGATE,
            self._surrogate_job,
            "Fitting the text surrogate",
            quiet=SURROGATE_QUIET,
        )
        return found

    def surrogate_unless_failed(self) -> TextSurrogate | None:
        """The surrogate, waited for; None when its fit failed (the model failed on some
        text): every other explanation goes on without rules, the panel says why, and
        ``w.surrogate`` raises the error."""
        try:
            return self.surrogate
        except Cancelled:
            raise
        except Exception:
            return None

    def surrogate_failed(self) -> bool:
        """Whether the surrogate's fit ended in an error."""
        return self.jobs.error(SURROGATE) is not None

    def ready_surrogate(self) -> TextSurrogate | None:
        """The surrogate if its fit has finished (never waits)."""
        found: TextSurrogate | None = self.jobs.result(SURROGATE)
        return found

    def _surrogate_job(self) -> Any:
        def fit(stop: Stop, progress: Progress) -> TextSurrogate:
            def predict(texts: list[str]) -> np.ndarray:
                with self.gate.hold():
                    return self.context.probabilities(texts)

            return fit_text_surrogate(
                [self.adapter.given(t) for t in self.texts],
                predict,
                self.adapter.classes,
                random_state=self.random_state,
                progress=progress,
                stop=stop,
            )

        return self.jobs.submit(
            SURROGATE,
            fit,
            on_progress=self.hooks.on_surrogate_progress,
            on_done=self.hooks.on_surrogate_done,
        )

    # -- what the Python API returns --------------------------------------------------
    def local_explanation(
        self, index: int | None = None, text: str | None = None, target_index: int | None = None
    ) -> TextExplanation:
        """Every explainer's exact attribution of a text (default: the current one)."""
        index = self.index if index is None else index
        text = self.text(index) if text is None else text
        target_index = self.target_index if target_index is None else target_index
        instance = self.instance(index, text)
        found: dict[str, Attribution] = {}
        for name in self.local_names:
            attribution = self.attribution(index, text, name, target_index)
            if attribution is not None:
                found[name] = attribution
        surrogate = self.surrogate_unless_failed()
        return TextExplanation(
            text=instance.tokens.text,
            target=self.adapter.classes[target_index],
            prediction=float(instance.outputs[target_index]),
            probabilities=[float(p) for p in instance.outputs],
            tokens=list(instance.tokens.strings),
            special=list(instance.tokens.special),
            attributions=found,
            titles={n: REGISTRY[n].title for n in found},
            rule=surrogate.rule_for(instance.tokens.text) if surrogate is not None else None,
            pieces=instance.tokens.pieces,
        )

    # -- the view the panel shows ----------------------------------------------------------
    def view(
        self,
        seq: int,
        *,
        fast: bool = False,
        index: int | None = None,
        text: str | None = None,
        complete: bool = True,
        wait: bool = True,
        cached_only: bool = False,
    ) -> payloads.TextView:
        """The view of a text, by default the current one (js/src/text/types.ts TextView).

        ``fast``: while typing (few IG steps; streamed explainers not computed).
        ``complete=False``: the streamed explainers only if they are already there.
        ``wait=False``: never wait for the surrogate. ``cached_only``: no explainer runs at
        all, only what is already there (the first answer to an edit). What is left out is
        named in ``pending``.
        """
        started = time.perf_counter()
        index = self.index if index is None else index
        text = self.text(index) if text is None else text
        target = self.target_index
        instance = self.instance(index, text)
        pending: list[str] = []
        attributions: list[payloads.AttributionInfo | None] = []
        found: list[tuple[str, Attribution]] = []
        for name in self.local_names:
            compute = not cached_only and (not REGISTRY[name].streamed or (complete and not fast))
            attribution = self.attribution(index, text, name, target, fast=fast, wait=compute)
            if attribution is None:
                pending.append(name)
                attributions.append(None)
                continue
            explainer = self.explainer(name)
            assert explainer is not None
            attributions.append(payloads.attribution(attribution, explainer))
            found.append((name, attribution))
        surrogate = self.surrogate_unless_failed() if wait and not fast else self.ready_surrogate()
        if surrogate is None and self.surrogate_enabled and not self.surrogate_failed():
            pending.append(SURROGATE)
        weights = (
            self.attention(index, text)
            if not cached_only
            else self.memo.peek(("attention", instance.key))
        )
        computed = ("attention", instance.key) in self.memo  # None there: the model gave none
        if weights is None and self.attention_enabled and not computed:
            pending.append(ATTENTION)
        tokens = instance.tokens
        outputs = instance.outputs
        titles = {n: REGISTRY[n].title for n in self.local_names}
        view: payloads.TextView = {
            "seq": seq,
            "index": index,
            "target": str(self.target),
            "quality": "fast" if any(a.quality == "fast" for _, a in found) else "exact",
            "text": text,  # all of it (the tokens cover what reaches the model)
            "original": self.texts[index],
            "edited": text != self.texts[index],
            "tokens": payloads.tokens_info(tokens),
            "prediction": float(outputs[target]),
            "predicted_label": str(self.adapter.classes[int(np.argmax(outputs))]),
            "probabilities": [float(p) for p in outputs],
            "y": None if self.y is None else self._label(self.y[index]),
            "attributions": attributions,
            "agreement": _agreements(found, self.local_explainers(), titles),
            "rule": (
                payloads.rule_match(surrogate.rule_for(tokens.text), tokens)
                if surrogate is not None
                else None
            ),
            "attention": payloads.attention_info(weights) if weights is not None else None,
            "pending": pending,
        }
        if tokens.truncated:
            view["notice"] = truncation_notice(tokens, self.adapter)
        view["compute_ms"] = round((time.perf_counter() - started) * 1000, 1)
        return view

    def _label(self, value: Any) -> str:
        """A true label as the panel shows it: a class number given for named classes
        becomes the class's name."""
        names = self.adapter.output_names
        if str(value) in names:
            return str(value)
        is_number = isinstance(value, (int, np.integer)) and not isinstance(value, bool)
        if is_number and 0 <= int(value) < len(names):
            return names[int(value)]
        return str(value)

    def _default_target(self) -> int:
        if self.adapter.task == "binary":
            return 1
        return int(np.argmax(self.instance(0, self.texts[0]).outputs))


def truncation_notice(tokens: Tokens, adapter: TextModelAdapter) -> str:
    """What a view says of a text cut to the tokens the model is given."""
    why = "" if adapter.own_limit else f" (it states no limit; it is given at most {MAX_TOKENS})"
    return (
        f"Only the first {len(tokens)} tokens reach the model{why}: the last "
        f"{tokens.truncated:,} characters are not explained."
    )


def _agreements(
    found: list[tuple[str, Attribution]], classes: list[type[Explainer]], titles: dict[str, str]
) -> list[payloads.Agreement]:
    """Each explainer against the first additive one, on the same tokens."""
    additive = {cls.name for cls in classes if cls.view == "force"}
    reference = next((pair for pair in found if pair[0] in additive), None)
    if reference is None:
        return []
    return [payloads.agreement(reference, pair, titles) for pair in found if pair is not reference]


def _check_y(y: Any, n: int) -> list[Any] | None:
    if y is None:
        return None
    values = y.tolist() if isinstance(y, pd.Series) else list(np.asarray(y).ravel())
    if len(values) != n:
        raise ValueError(f"y has {len(values)} values but there are {n} texts: one per text.")
    return [v.item() if isinstance(v, np.generic) else v for v in values]
