"""Real-data tier: the matcher against the Woolworths<->IGA barcode truth in
``$GROCER_SHARED_DIR/corpus/matching`` (read in place; see benchmarks/matching_eval.py)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from grocer.normalization.matching import MatchConfig

EVAL = Path(__file__).resolve().parents[2] / "benchmarks" / "matching_eval.py"


@pytest.fixture(scope="module")
def matching_eval():
    spec = importlib.util.spec_from_file_location("matching_eval", EVAL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_precision_and_recall_on_the_barcode_truth(shared_dir, matching_eval):
    corpus = matching_eval.load_corpus(shared_dir / "corpus" / "matching")
    report = matching_eval.evaluate(*corpus, MatchConfig())
    assert report["pairs_truth"] == 353
    assert report["baseline_recall"] < 0.05  # exact v1 keys almost never agree across chains
    assert report["recall"] >= 0.55
    # the pairs judged wrong are (nearly all) the same article under a re-coded barcode
    assert report["precision"] >= 0.94
    assert report["wrong_pairs"] - report["wrong_pairs_with_identical_names"] <= 6


def test_eval_script_prints_one_json_line(shared_dir, matching_eval, capsys):
    assert matching_eval.main(["--shared-dir", str(shared_dir)]) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    report = json.loads(last)
    for key in ("pairs_truth", "judged_pairs", "baseline_recall", "precision", "recall",
                "seconds"):
        assert key in report
