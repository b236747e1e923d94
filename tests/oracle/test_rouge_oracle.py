"""Oracle: ferret's Rouge-L (src/data/rouge.cpp) against the `rouge-score` package on 200 fixed pairs.

The pairs are generated from a fixed seed: words with mixed case, punctuation, digits, non-ASCII
letters (é, ß, İ, the Kelvin sign, CJK), empty and whitespace-only sides, plus real Natural
Instructions outputs when the shared data is present. rouge-score's RougeScorer(["rougeL"]) with
its default tokenizer (no stemmer) is the reference; scores must agree to 1e-12.
"""
import glob
import json
import os
import random
import subprocess

import pytest

rouge_scorer = pytest.importorskip("rouge_score.rouge_scorer")

TOOL = os.environ.get("FERRET_ROUGE_TOOL")
pytestmark = pytest.mark.skipif(not TOOL, reason="FERRET_ROUGE_TOOL (path of tests/rouge_tool) is not set")

WORDS = ["the", "The", "CAT", "sat", "on", "mat.", "a", "dog's", "don't", "U.S.A.", "42", "3.14", "x-ray",
         "café", "naïve", "straße", "İstanbul", "\u212a", "日本語", "ok!", "(yes)", "no,", "e-mail", "COVID-19",
         "", "  ", "\t", "\n", "—", "½", "Ωmega", "ﬁne", "A1b2", "foo_bar", "###", "it's", "I'M", "résumé"]


def random_text(rng):
    n = rng.choice([0, 1, 2, 3, 5, 8, 13, 21])
    return " ".join(rng.choice(WORDS) for _ in range(n))


def shared_outputs():
    shared = os.environ.get("FERRET_SHARED_DIR", "")
    texts = []
    for path in sorted(glob.glob(os.path.join(shared, "data/natural-instructions/tasks/*.json"))):
        with open(path, encoding="utf-8") as f:
            task = json.load(f)  # Python's json accepts the bare NaN of upstream files
        for instance in task["Instances"][:8]:
            if instance["output"] and isinstance(instance["output"][0], str):
                texts.append(instance["output"][0])
    return texts


def fixed_pairs():
    rng = random.Random(20240906)
    pairs = [["", ""], ["  ", "\n"], ["cat", ""], ["", "cat"], ["Cat.", "cat"], ["\u212a", "k"],
             ["İ", "i"], ["a b c", "c b a"]]
    real = shared_outputs()
    while len(pairs) < 200:
        if real and rng.random() < 0.3:
            ref = rng.choice(real)
            words = ref.split()
            rng.shuffle(words)
            pairs.append([" ".join(words[: rng.randint(0, len(words))]), ref])
        else:
            pairs.append([random_text(rng), random_text(rng)])
    return pairs


def test_rouge_l_equals_rouge_score(tmp_path):
    pairs = fixed_pairs()
    assert len(pairs) == 200
    request = tmp_path / "pairs.json"
    request.write_text(json.dumps(pairs, ensure_ascii=False), encoding="utf-8")
    out = subprocess.run([TOOL, str(request)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    ours = json.loads(out.stdout)
    scorer = rouge_scorer.RougeScorer(["rougeL"])
    theirs = [scorer.score(ref, pred)["rougeL"].fmeasure for pred, ref in pairs]
    mismatches = [(p, o, t) for p, o, t in zip(pairs, ours, theirs) if abs(o - t) > 1e-12]
    assert not mismatches, f"{len(mismatches)} of 200 differ, first: {mismatches[:3]}"
    assert 0 < sum(1 for t in theirs if 0 < t < 1)  # the pairs exercise partial overlaps, not only 0/1
