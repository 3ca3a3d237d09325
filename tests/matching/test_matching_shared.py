"""Real-data tier: the matcher against the Woolworths<->IGA barcode truth in
``$GROCER_SHARED_DIR/corpus/matching`` (read in place; see benchmarks/matching_eval.py)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from grocer.matching import MatchConfig

EVAL = Path(__file__).resolve().parents[2] / "benchmarks" / "matching_eval.py"


@pytest.fixture(scope="module")
def matching_eval():
    spec = importlib.util.spec_from_file_location("matching_eval", EVAL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_precision_and_recall_on_the_barcode_truth(shared_dir, matching_eval):
    directory = shared_dir / "corpus" / "matching"
    corpus = matching_eval.load_corpus(directory)
    report = matching_eval.evaluate(*corpus, MatchConfig())
    assert report["pairs_truth"] == 353
    # 6 truth pairs name IGA SKUs the IGA file lacks; the zero-stripped Woolworths barcodes
    # are read as GTIN-13, so every other truth pair is reachable
    assert report["truth_pairs_unreachable"] == 6
    assert report["baseline_recall"] < 0.05  # exact v1 keys almost never agree across chains
    same, cross, total = report["same_period"], report["cross_period"], report["all"]
    assert same["truth_pairs"] + cross["truth_pairs"] == total["truth_pairs"] == 353
    assert same["proposed"] + cross["proposed"] == total["proposed"]
    # same period (Woolworths 2026 vs IGA 2025): names identify the barcode
    assert same["wrong"] <= 1 and same["precision"] >= 0.99
    assert same["recall"] >= 0.60
    # across five years some articles were re-coded: the same names, another barcode
    assert total["precision"] >= 0.95
    assert total["recall"] >= 0.70
    assert report["match_seconds"] < 60


def test_eval_script_prints_one_json_line(shared_dir, matching_eval, capsys):
    assert matching_eval.main(["--shared-dir", str(shared_dir)]) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    report = json.loads(last)
    for key in ("pairs_truth", "same_period", "cross_period", "all", "baseline_recall",
                "precision", "recall", "seconds", "without_unit_price"):
        assert key in report
    for period in ("same_period", "cross_period", "all"):
        assert {"proposed", "judged", "correct", "wrong", "unjudged", "precision",
                "precision_lower95", "recall", "truth_pairs"} <= set(report[period])
