"""The LLM layer: loading (fp32/NF4), decoding, constrained helpers, LoRA training, adapters.

Fast tests use a tiny randomly initialised Llama and a byte-level BPE tokenizer trained
in the test, saved to a temp folder: nothing is downloaded. Tests marked slow convert the
real packaged GGUF (SmolLM2-135M-Instruct) and generate with it in NF4.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("peft")

import assistant.llm.generation as llm  # noqa: E402
from assistant.llm.generation import (  # noqa: E402
    Generation,
    LLMConfig,
    LLMOutputError,
    extract_json_object,
    generate,
    generate_choice,
    generate_json,
    load_model,
    stream,
)
from assistant.llm.loading import (  # noqa: E402
    ADAPTER_MANIFEST,
    MODEL_MANIFEST,
    model_id_for,
    quantized_cache_folder,
)
from finetune.features import IGNORE_INDEX, evaluate_loss, tokenize_example  # noqa: E402
from finetune.train import TrainConfig, train_lora  # noqa: E402
from retrieval.errors import CartsmithError, ConfigError  # noqa: E402

CHATML = (
    "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\n' + message['content']"
    " + '<|im_end|>' + '\n' }}{% endfor %}{% if add_generation_prompt %}"
    "{{ '<|im_start|>assistant\n' }}{% endif %}"
)
CORPUS = [
    "find a picnic blanket and a cooler for four people",
    '{"intent": "search", "query": "picnic blanket", "budget": 40}',
    "add two mugs to my cart please, and a teapot",
    "system user assistant the a of and to in for with",
    "checkout remove basket gift bundle candles under 30 pounds",
]
EXAMPLE = {
    "messages": [
        {"role": "system", "content": "Parse the request."},
        {"role": "user", "content": "picnic blanket under 40"},
        {"role": "assistant", "content": '{"intent": "search", "budget": 40}'},
    ]
}


def _bnb_cpu_ok() -> str | None:
    """None when bitsandbytes can quantise on CPU here, else the reason it cannot."""
    try:
        import bitsandbytes.functional as bnbf

        weight = torch.randn(64, 64)
        packed, state = bnbf.quantize_4bit(weight, quant_type="nf4")
        restored = bnbf.dequantize_4bit(packed, state)
        assert (restored - weight).abs().mean() < 0.2
    except Exception as exc:  # pragma: no cover - depends on the machine
        return f"bitsandbytes NF4 does not run on this CPU: {exc}"
    return None


@pytest.fixture(scope="module")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    folder = tmp_path_factory.mktemp("tiny-llama")
    raw = Tokenizer(models.BPE())
    raw.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    raw.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=384,
        special_tokens=["<|endoftext|>", "<|im_start|>", "<|im_end|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    raw.train_from_iterator(CORPUS * 4, trainer)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=raw, bos_token="<|im_start|>", eos_token="<|im_end|>",
        unk_token="<|endoftext|>", pad_token="<|im_end|>",
    )
    tokenizer.chat_template = CHATML
    tokenizer.save_pretrained(folder)
    config = LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256,
        bos_token_id=1, eos_token_id=2, pad_token_id=2, tie_word_embeddings=True,
    )
    torch.manual_seed(0)
    LlamaForCausalLM(config).save_pretrained(folder)
    return folder


def _config(folder: Path, **changes) -> LLMConfig:
    values = {"model": str(folder), "quantization": "none", "threads": 1, "max_new_tokens": 8,
              "cache_dir": str(folder.parent / "cache"), **changes}
    return LLMConfig(**values)


@pytest.fixture(scope="module")
def tiny(tiny_model_dir: Path):
    return load_model(_config(tiny_model_dir))


def _forced(tokenizer, text: str):
    """A prefix_allowed_tokens_fn that makes the model spell out text, then end its turn."""
    target = tokenizer(text, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
    start: list[int] = []

    def allowed(batch_id: int, ids) -> list[int]:
        if not start:
            start.append(len(ids))
        done = len(ids) - start[0]
        return [target[min(done, len(target) - 1)]]

    return allowed


# --------------------------------------------------------------------------- config


def test_config_rejects_unknown_keys_and_bad_values() -> None:
    with pytest.raises(ConfigError, match="unknown key"):
        LLMConfig.from_dict({"modle": "x"})
    with pytest.raises(ConfigError, match="unknown key"):
        TrainConfig.from_dict({"lora_rank": 8})
    with pytest.raises(ConfigError, match="quantization"):
        LLMConfig.from_dict({"quantization": "int8"})
    with pytest.raises(ConfigError, match="temperature"):
        LLMConfig(temperature=-1)
    with pytest.raises(ConfigError, match="lora_dropout"):
        TrainConfig(lora_dropout=1.5)
    config = TrainConfig.from_dict({"target_modules": ["q_proj", "v_proj"], "max_steps": 3})
    assert config.target_modules == ("q_proj", "v_proj")
    assert config.llm_config().quantization == "nf4"


def test_cache_dir_follows_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CARTSMITH_CACHE", str(tmp_path))
    assert LLMConfig().cache_dir == str(tmp_path / "models")
    monkeypatch.delenv("CARTSMITH_CACHE")
    assert LLMConfig().cache_dir.endswith(os.path.join(".cache", "cartsmith", "models"))


def test_missing_model_paths_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="GGUF file not found"):
        load_model(LLMConfig(model=str(tmp_path / "nope.gguf")))
    with pytest.raises(ConfigError, match="not found"):
        load_model(LLMConfig(model=str(tmp_path / "no-such-folder")))
    with pytest.raises(ConfigError, match="unknown packaged model"):
        load_model(LLMConfig(model="packaged:GPT-9"))


# --------------------------------------------------------------------------- loading + decoding


def test_load_fp32_reports_id_and_memory(tiny, tiny_model_dir: Path) -> None:
    assert tiny.quantization == "none"
    assert tiny.model_id.startswith("local:")
    assert tiny.model_id == model_id_for(_config(tiny_model_dir))  # stable
    assert tiny.memory_bytes > 0
    assert not tiny.model.training


def test_generate_matches_transformers_greedy(tiny) -> None:
    messages = [{"role": "user", "content": "find a picnic blanket"}]
    result = generate(tiny, messages, max_new_tokens=6)
    assert isinstance(result, Generation)
    assert 1 <= result.n_new_tokens <= 6 and result.n_prompt_tokens > 5 and result.seconds > 0
    prompt = tiny.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    ids = tiny.tokenizer(prompt, add_special_tokens=False, return_tensors="pt")
    with torch.inference_mode():
        out = tiny.model.generate(**ids, max_new_tokens=6, do_sample=False,
                                  eos_token_id=tiny.tokenizer.eos_token_id)
    expected = tiny.tokenizer.decode(out[0, ids["input_ids"].shape[1]:], skip_special_tokens=True)
    assert result.text == expected
    assert "".join(stream(tiny, messages, max_new_tokens=6)) == result.text
    assert torch.is_inference_mode_enabled() is False


def test_forced_tokens_stop_strings_and_stream(tiny) -> None:
    messages = [{"role": "user", "content": "hi"}]
    text = "add two mugs to my cart"
    full = generate(tiny, messages, max_new_tokens=40, prefix_allowed_tokens_fn=_forced(tiny.tokenizer, text))
    assert full.text == text and full.finish_reason == "eos"
    cut = generate(tiny, messages, max_new_tokens=40, stop=["my cart", "zzz"],
                   prefix_allowed_tokens_fn=_forced(tiny.tokenizer, text))
    assert cut.text == "add two mugs to " and cut.finish_reason == "stop"
    pieces = list(stream(tiny, messages, max_new_tokens=40, stop=["my cart"],
                         prefix_allowed_tokens_fn=_forced(tiny.tokenizer, text)))
    assert "".join(pieces) == "add two mugs to " and len(pieces) > 1
    short = generate(tiny, messages, max_new_tokens=2, prefix_allowed_tokens_fn=_forced(tiny.tokenizer, text))
    assert short.n_new_tokens == 2 and short.finish_reason == "length"
    with pytest.raises(CartsmithError, match="messages"):
        generate(tiny, [{"role": "robot", "content": "x"}])


def test_generate_choice_batched_scores_match_single_rows(tiny) -> None:
    messages = [{"role": "user", "content": "what should I do"}]
    options = ["search", "add two mugs", "checkout"]
    choice = generate_choice(tiny, messages, options)
    assert choice.option == options[choice.index]
    assert len(choice.scores) == 3 and abs(sum(choice.probabilities) - 1) < 1e-6
    for i, option in enumerate(options):  # padding in the batch must not change any score
        alone = generate_choice(tiny, messages, [option], length_normalize=False)
        assert alone.logprobs[0] == pytest.approx(choice.logprobs[i], abs=1e-4)
    with pytest.raises(CartsmithError):
        generate_choice(tiny, messages, [])


def test_generate_json_forced_and_retry(tiny, monkeypatch: pytest.MonkeyPatch) -> None:
    assert extract_json_object('sure! ```json\n{"a": [1, 2], "b": {"c": null}}\n``` done') == {
        "a": [1, 2], "b": {"c": None}}
    assert extract_json_object("[1, 2] {bad} {\"ok\": true}") == {"ok": True}
    assert extract_json_object("no json here") is None

    replies = iter(["I think you want a blanket.", '"intent": "search"}'])
    prefills: list[str] = []

    def fake(loaded, messages, max_new_tokens, temperature, prefill):
        prefills.append(prefill)
        return Generation(prefill + next(replies), 5, 5, 0.01)

    monkeypatch.setattr(llm, "_json_generation", fake)
    result = generate_json(tiny, [{"role": "user", "content": "blanket"}])
    assert result.data == {"intent": "search"} and result.attempts == 2
    assert prefills == ["", "{"] and len(result.generations) == 2
    replies = iter(["nope", "still nope"])
    with pytest.raises(LLMOutputError, match="no JSON object in 2 tries"):
        generate_json(tiny, [{"role": "user", "content": "blanket"}])


def test_prefill_and_stop_after_first_json_object(tiny) -> None:
    messages = [{"role": "user", "content": "hi"}]
    forced = _forced(tiny.tokenizer, '"budget": 40} and more text')
    result = generate(tiny, messages, max_new_tokens=40, prefill="{", prefix_allowed_tokens_fn=forced)
    assert result.text == '{"budget": 40} and more text'
    forced = _forced(tiny.tokenizer, '"budget": 40} and more text')
    decoder = llm._Decoder(tiny, messages, 40, None, forced, None, "{",
                           until=lambda text: extract_json_object(text) is not None)
    assert "".join(decoder.pieces()) == '{"budget": 40}'
    assert decoder.result().finish_reason == "stop"


def test_nf4_load_cache_and_generate(tiny_model_dir: Path, tmp_path: Path) -> None:
    reason = _bnb_cpu_ok()
    if reason:
        pytest.skip(reason)
    import bitsandbytes as bnb

    config = _config(tiny_model_dir, quantization="nf4", cache_dir=str(tmp_path / "cache"))
    loaded = load_model(config)
    assert loaded.quantization == "nf4"
    assert any(isinstance(m, bnb.nn.Linear4bit) for m in loaded.model.modules())
    fp32 = load_model(_config(tiny_model_dir))
    assert loaded.memory_bytes < fp32.memory_bytes
    cached = quantized_cache_folder(config, loaded.model_id)
    assert (cached / "cartsmith-quantized.json").is_file()
    again = load_model(config)  # from the cached 4-bit weights this time
    ids = torch.tensor([[1, 5, 6, 7, 8]])
    with torch.inference_mode():
        assert torch.equal(loaded.model(input_ids=ids).logits, again.model(input_ids=ids).logits)
    result = generate(loaded, [{"role": "user", "content": "hi"}], max_new_tokens=4)
    assert 1 <= result.n_new_tokens <= 4


# --------------------------------------------------------------------------- fine-tuning


def test_tokenize_example_labels_only_assistant_tokens(tiny) -> None:
    features = tokenize_example(tiny.tokenizer, EXAMPLE, max_seq_len=512)
    assert features is not None
    labelled = [t for t, label in zip(features.input_ids, features.labels, strict=True) if label != IGNORE_INDEX]
    text = tiny.tokenizer.decode(labelled)
    assert text.startswith(EXAMPLE["messages"][-1]["content"]) and "<|im_end|>" in text
    assert "picnic" not in text and "Parse" not in text
    assert tokenize_example(tiny.tokenizer, EXAMPLE, max_seq_len=16) is None  # truncated away
    with pytest.raises(CartsmithError, match="no assistant message"):
        tokenize_example(tiny.tokenizer, {"messages": [{"role": "user", "content": "x"}]}, 64)


@pytest.mark.parametrize("quantization", ["none", "nf4"])
def test_lora_step_reduces_loss_and_adapter_round_trips(tiny_model_dir: Path, tmp_path: Path,
                                                        quantization: str) -> None:
    if quantization == "nf4" and (reason := _bnb_cpu_ok()):
        pytest.skip(reason)
    output = tmp_path / "adapters" / "tiny-lora"
    config = TrainConfig(
        model=str(tiny_model_dir), quantization=quantization, compute_dtype="float32",
        cache_dir=str(tmp_path / "cache"), threads=1, lora_r=4, lora_alpha=8, lora_dropout=0.0,
        learning_rate=5e-3, max_steps=1, batch_size=4, warmup_ratio=0.0, output_dir=str(output),
        progress=False,
    )
    path = train_lora(config, [EXAMPLE] * 4, [EXAMPLE], data_hash="sha256:test", prompt_version="t1")
    assert path == output
    assert sorted(p.name for p in output.parent.iterdir()) == ["tiny-lora"]  # no temp folders left
    manifest = json.loads((output / ADAPTER_MANIFEST).read_text())
    metrics = manifest["metrics"]
    assert manifest["steps"] == 1 and manifest["quantization"] == quantization
    assert manifest["data_hash"] == "sha256:test" and manifest["prompt_version"] == "t1"
    assert manifest["library_versions"]["peft"]
    assert metrics["eval_loss"] < metrics["eval_loss_before"]

    serve = _config(tiny_model_dir, quantization=quantization, adapter=str(output), fuse_projections=False)
    first, second = load_model(serve), load_model(serve)
    assert first.adapter_manifest["base_model_id"] == first.model_id
    ids = torch.tensor([tokenize_example(first.tokenizer, EXAMPLE, 512).input_ids])
    with torch.inference_mode():
        a = first.model(input_ids=ids).logits
        b = second.model(input_ids=ids).logits
        base = load_model(_config(tiny_model_dir, quantization=quantization)).model(input_ids=ids).logits
    assert torch.equal(a, b)
    assert not torch.allclose(a, base, atol=1e-4)
    # the lean LoRA forward (the default) computes what peft's own forward does, exactly
    assert any(hasattr(m, "_cartsmith_lean") for m in first.model.modules())
    peft_own = load_model(_config(tiny_model_dir, quantization=quantization, adapter=str(output),
                                  lean_lora=False, fuse_projections=False))
    assert not any(hasattr(m, "_cartsmith_lean") for m in peft_own.model.modules())
    with torch.inference_mode():
        assert torch.equal(a, peft_own.model(input_ids=ids).logits)
    # fused q/k/v and gate/up (the default): the same numbers up to the matmul's rounding,
    # in one call per group, whatever order the parts are called in
    fused = load_model(_config(tiny_model_dir, quantization=quantization, adapter=str(output)))
    parts = [m for m in fused.model.modules() if type(m).__name__ == "FusedPart"]
    n_layers = fused.model.config.num_hidden_layers
    assert len(parts) == 5 * n_layers
    assert not any(hasattr(m, "q_proj") and hasattr(m.q_proj, "base_layer") for m in fused.model.modules())
    with torch.inference_mode():
        fused_logits = fused.model(input_ids=ids).logits
        assert torch.allclose(fused_logits, a, atol=1e-4, rtol=1e-4)
        layer = fused.model.get_base_model().model.layers[0].self_attn
        hidden = torch.randn(1, 3, fused.model.config.hidden_size)
        k_alone = layer.k_proj(hidden)  # called first, on its own: computes the group itself
        assert torch.equal(k_alone, layer.k_proj(hidden.clone()))
        q = layer.q_proj(hidden)
        assert torch.equal(layer.k_proj(hidden), k_alone)  # handed over from q_proj's call
        assert q.shape[-1] == layer.q_proj.out_features
    reloaded_loss = evaluate_loss(first.model, first.tokenizer, [EXAMPLE])
    tolerance = 1e-4 if quantization == "none" else 2e-2  # NF4 serving uses bnb's bf16 CPU kernel
    assert reloaded_loss == pytest.approx(metrics["eval_loss"], rel=tolerance, abs=tolerance)

    with pytest.raises(ConfigError, match="already exists"):
        train_lora(config, [EXAMPLE], [], data_hash="x", prompt_version="t1")


def test_time_budget_stops_training_cleanly(tiny_model_dir: Path, tmp_path: Path) -> None:
    config = TrainConfig(
        model=str(tiny_model_dir), quantization="none", compute_dtype="float32", threads=1,
        cache_dir=str(tmp_path / "cache"), max_steps=500, batch_size=1, lora_r=2,
        time_budget_minutes=1e-9, output_dir=str(tmp_path / "budget"), progress=False, eval_before=False,
    )
    path = train_lora(config, [EXAMPLE] * 3, [], data_hash="h", prompt_version="p")
    manifest = json.loads((path / ADAPTER_MANIFEST).read_text())
    assert manifest["stop_reason"] == "time_budget" and manifest["steps"] == 1
    assert manifest["metrics"]["eval_loss"] is None


def test_adapter_for_another_base_is_refused(tiny_model_dir: Path, tmp_path: Path) -> None:
    adapter = tmp_path / "foreign"
    adapter.mkdir()
    with pytest.raises(CartsmithError, match=r"no cartsmith-adapter\.json"):
        load_model(_config(tiny_model_dir, adapter=str(adapter)))
    (adapter / ADAPTER_MANIFEST).write_text(json.dumps({
        "base_model_id": "gguf:Other-1B.gguf@sha256:0123456789abcdef",
        "base_model": "/models/Other-1B.gguf", "quantization": "nf4",
    }))
    with pytest.raises(CartsmithError, match=r"trained on base model gguf:Other-1B\.gguf") as info:
        load_model(_config(tiny_model_dir, adapter=str(adapter)))
    assert "Other-1B.gguf" in str(info.value) and "llm.model" in str(info.value)


# --------------------------------------------------------------------------- the real model (slow)


@pytest.fixture(scope="module")
def real_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("model-cache")


@pytest.mark.slow
def test_gguf_conversion_is_cached_and_clean(real_cache: Path) -> None:
    import time

    from assistant.llm.loading import ensure_hf_folder

    config = LLMConfig(cache_dir=str(real_cache))
    started = time.perf_counter()
    folder = ensure_hf_folder(config)
    cold = time.perf_counter() - started
    assert folder.parent == real_cache and folder.name.startswith("SmolLM2-135M-Instruct.Q4_1-")
    assert [p.name for p in real_cache.iterdir() if p.name.startswith(".") and p.is_dir()] == []
    assert "quantization_config" not in json.loads((folder / "config.json").read_text())
    manifest = json.loads((folder / MODEL_MANIFEST).read_text())
    assert manifest["sha256"].startswith(folder.name.rsplit("-", 1)[1])
    assert manifest["model_id"] == model_id_for(config) and manifest["has_chat_template"]
    assert manifest["transformers_version"]
    mtime = (folder / "config.json").stat().st_mtime_ns
    started = time.perf_counter()
    assert ensure_hf_folder(config) == folder
    assert time.perf_counter() - started < min(2.0, cold)
    assert (folder / "config.json").stat().st_mtime_ns == mtime

    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
    prompt = tokenizer.apply_chat_template([{"role": "user", "content": "hi"}], tokenize=False,
                                           add_generation_prompt=True)
    assert "<|im_start|>user\nhi<|im_end|>" in prompt and prompt.endswith("<|im_start|>assistant\n")


@pytest.mark.slow
def test_real_model_nf4_generates_and_chooses(real_cache: Path) -> None:
    if reason := _bnb_cpu_ok():
        pytest.skip(reason)
    loaded = load_model(LLMConfig(cache_dir=str(real_cache), threads=min(2, os.cpu_count() or 1)))
    assert loaded.quantization == "nf4" and loaded.model_id.startswith("gguf:SmolLM2-135M-Instruct")
    result = generate(loaded, [{"role": "user", "content": "Name one fruit."}], max_new_tokens=16)
    assert result.n_new_tokens <= 16 and result.text.strip()
    choice = generate_choice(
        loaded,
        [{"role": "user", "content": "What is the capital of France? Answer with one word."}],
        ["Paris", "Banana", "Tuesday"],
    )
    assert choice.option == "Paris", choice
    data = generate_json(loaded, [
        {"role": "system", "content": "Reply with a JSON object only."},
        {"role": "user", "content": 'Return {"fruit": "apple"} exactly.'},
    ], max_new_tokens=24)
    assert isinstance(data.data, dict)


def test_draft_from_context_copies_what_followed_the_last_ngram() -> None:
    from assistant.llm.decoding import _draft_from_context

    assert _draft_from_context([5, 6, 7, 8, 9, 5, 6, 7], 2) == [8, 9]
    assert _draft_from_context([1, 2, 3, 4, 9, 3, 4], 3) == [9, 3, 4]  # falls back to the last 2 tokens
    assert _draft_from_context([1, 2, 3, 4], 3) == []
    assert _draft_from_context([5, 6, 7, 8, 5, 6, 7, 1, 5, 6, 7], 1) == [1]  # the latest occurrence


def test_prompt_lookup_decoding_gives_greedy_text_in_fewer_passes(tiny_model_dir: Path) -> None:
    counted = load_model(_config(tiny_model_dir, prompt_lookup=8))
    plain = load_model(_config(tiny_model_dir, prompt_lookup=0))
    calls = {"n": 0}

    def count(_module, _args):
        calls["n"] += 1

    counted.model.register_forward_pre_hook(count)
    for content in ("find a picnic blanket", "tea tea tea tea party", "red red lunch bag"):
        messages = [{"role": "user", "content": content}]
        calls["n"] = 0
        drafted = generate(counted, messages, max_new_tokens=40)
        greedy = generate(plain, messages, max_new_tokens=40)
        assert drafted.text == greedy.text and drafted.n_new_tokens == greedy.n_new_tokens
        assert calls["n"] <= drafted.n_new_tokens
    # a random tiny model repeats itself, so drafts are accepted somewhere in these replies
    calls["n"] = 0
    long = generate(counted, [{"role": "user", "content": "tea tea tea tea party"}], max_new_tokens=60)
    assert calls["n"] < long.n_new_tokens


def test_bf16_output_head_serves_close_logits_and_keeps_the_input_embedding(tiny_model_dir: Path) -> None:
    full = load_model(_config(tiny_model_dir))
    half = load_model(_config(tiny_model_dir, head_dtype="bfloat16"))
    assert half.model.get_output_embeddings().weight.dtype == torch.bfloat16
    assert half.model.get_input_embeddings().weight.dtype == torch.float32  # untied, not cast
    ids = full.tokenizer("find a picnic blanket", return_tensors="pt")["input_ids"]
    with torch.inference_mode():
        a = full.model(input_ids=ids).logits
        b = half.model(input_ids=ids).logits
    assert b.dtype == torch.float32
    assert torch.allclose(a, b, atol=0.05 * float(a.abs().max()))
    assert generate(half, [{"role": "user", "content": "hi"}], max_new_tokens=4).n_new_tokens >= 1
    with pytest.raises(ConfigError, match="head_dtype"):
        _config(tiny_model_dir, head_dtype="int3")


class _Lipogram:
    """A token guide for the tests: no letter `banned`; the reply may end after min_chars."""

    def __init__(self, banned: str, min_chars: int) -> None:
        self.banned, self.min_chars = banned, min_chars

    def allows(self, text: str, piece: str) -> bool:
        return self.banned not in piece

    def allows_end(self, text: str) -> bool:
        return len(text) >= self.min_chars


def _reference_guided(loaded, messages, guide, max_new_tokens: int) -> list[int]:
    """Guided greedy the slow way: one full forward pass per token, every token checked."""
    from assistant.llm.decoding import _stop_token_ids, token_texts

    texts = token_texts(loaded.tokenizer)
    stops = _stop_token_ids(loaded)
    prompt = loaded.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    ids = loaded.tokenizer(prompt, add_special_tokens=False)["input_ids"]
    out: list[int] = []
    text = ""
    for _ in range(max_new_tokens):
        with torch.inference_mode():
            logits = loaded.model(input_ids=torch.tensor([ids + out])).logits[0, -1].float()
        for token in torch.argsort(logits, descending=True).tolist():
            if (guide.allows_end(text) if token in stops else guide.allows(text, texts[token])):
                break
        out.append(token)
        if token in stops:
            break
        text += texts[token]
    return out


def test_guided_decoding_takes_the_likeliest_allowed_token_with_or_without_drafts(tiny_model_dir: Path) -> None:
    drafted = load_model(_config(tiny_model_dir, prompt_lookup=3))
    plain = load_model(_config(tiny_model_dir, prompt_lookup=0))
    for content in ("find a picnic blanket", "tea tea tea tea party"):
        messages = [{"role": "user", "content": content}]
        guide = _Lipogram("e", 4)
        free = generate(plain, messages, max_new_tokens=24)
        guided = generate(drafted, messages, max_new_tokens=24, guide=guide)
        assert "e" not in guided.text
        assert guided.text == generate(plain, messages, max_new_tokens=24, guide=guide).text
        want = _reference_guided(plain, messages, guide, 24)
        assert guided.text == plain.tokenizer.decode(want, skip_special_tokens=True)
        if "e" in free.text:
            assert guided.text != free.text
    with pytest.raises(CartsmithError, match="not both"):
        generate(plain, [{"role": "user", "content": "x"}], max_new_tokens=2, guide=_Lipogram("e", 1),
                 prefix_allowed_tokens_fn=lambda _b, _ids: [0])


def test_length_grouped_batches_cover_every_example_once_with_similar_lengths() -> None:
    import random

    from finetune.features import length_grouped_batches

    lengths = [random.Random(i).choice((20, 21, 300, 310)) for i in range(200)]
    batches = length_grouped_batches(lengths, 4, random.Random(0), window=50)
    assert sorted(i for b in batches for i in b) == list(range(200))
    mixed = sum(1 for b in batches if max(lengths[i] for i in b) - min(lengths[i] for i in b) > 50)
    assert mixed <= 1  # at most the one batch where the sorted window crosses from short to long
    assert batches != length_grouped_batches(lengths, 4, random.Random(1), window=50)


def test_per_example_loss_weights_each_example_once(tiny) -> None:
    from finetune.features import batch_loss, collate, tokenize_example

    short = {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "ok"}]}
    long = {"messages": [{"role": "user", "content": "hi"},
                         {"role": "assistant", "content": "a much longer answer with many more tokens"}]}
    feats = [tokenize_example(tiny.tokenizer, ex, 128) for ex in (short, long)]
    pad = tiny.tokenizer.pad_token_id
    with torch.no_grad():
        token_sum, n_tokens = batch_loss(tiny.model, collate(feats, pad))
        example_sum, n_examples = batch_loss(tiny.model, collate(feats, pad), per_example=True)
        means = [float(batch_loss(tiny.model, collate([f], pad))[0]) / f.n_target_tokens for f in feats]
    assert n_examples == 2 and n_tokens == sum(f.n_target_tokens for f in feats)
    assert float(example_sum) == pytest.approx(sum(means), rel=1e-4)
    assert float(token_sum) / n_tokens != pytest.approx(float(example_sum) / 2, rel=1e-3)


def test_prompt_cache_reuses_a_shared_prefix_and_changes_nothing(tiny_model_dir: Path) -> None:
    """Bit-for-bit: logits after a reused prefix equal those of a fresh prefill, whatever ran
    before (prompts are fed in position-aligned chunks)."""
    cached = load_model(_config(tiny_model_dir, prompt_cache=True, prompt_lookup=0))
    plain = load_model(_config(tiny_model_dir, prompt_cache=False, prompt_lookup=0))
    fed: list[int] = []

    def count(_module, args, kwargs):
        fed.append(int(kwargs["input_ids"].shape[1]))

    cached.model.register_forward_pre_hook(count, with_kwargs=True)
    rules = "You are a shop assistant. Reply briefly and list the bundle items. " * 12
    for tail in ("a picnic set", "a tea party", "a tea party please", "a picnic set"):
        messages = [{"role": "user", "content": rules + tail}]
        fed.clear()
        with_cache = generate(cached, messages, max_new_tokens=12)
        without = generate(plain, messages, max_new_tokens=12)
        assert with_cache.text == without.text and with_cache.n_new_tokens == without.n_new_tokens
    assert with_cache.n_prompt_tokens > 2 * 64
    assert sum(fed) - with_cache.n_new_tokens < 64  # the repeated request fed only its last chunk
    stopped = generate(cached, [{"role": "user", "content": rules + "a garden"}], max_new_tokens=12, stop=["a"])
    again = generate(plain, [{"role": "user", "content": rules + "a garden"}], max_new_tokens=12, stop=["a"])
    assert stopped.text == again.text


def test_replies_do_not_depend_on_what_was_generated_before(tiny_model_dir: Path) -> None:
    import dataclasses

    from assistant.llm.decoding import _decode_tokens, _encode
    from assistant.llm.generation import build_prompt

    loaded = load_model(_config(tiny_model_dir, prompt_cache=True, prompt_lookup=0))
    text = "Parse this request for a tea party with cups, plates and bunting please. " * 10

    def first_logits_path(content: str) -> list[int]:
        ids = _encode(loaded.tokenizer, build_prompt(loaded.tokenizer, [{"role": "user", "content": content}]))
        return list(_decode_tokens(loaded, ids, 10, 0.0, None))

    fresh = first_logits_path(text)
    first_logits_path(text[:300] + " something else entirely, a garden party")
    assert first_logits_path(text) == fresh
    no_cache = dataclasses.replace(loaded, config=dataclasses.replace(loaded.config, prompt_cache=False))
    ids = _encode(loaded.tokenizer, build_prompt(loaded.tokenizer, [{"role": "user", "content": text}]))
    assert list(_decode_tokens(no_cache, ids, 10, 0.0, None)) == fresh
