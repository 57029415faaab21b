"""How keyword (BM25) and meaning (dense) candidates are fused into one ranking."""

from desktop.core.library.retrieval import convex_fusion


def test_scores_are_fused_on_their_own_scales_not_by_rank() -> None:
    # BM25 scores are unbounded and depend on the collection; cosines are in [-1, 1]
    bm25 = [[("a", 30.0), ("b", 29.0), ("c", 3.0)]]
    dense = [("c", 0.62), ("b", 0.60), ("a", 0.20)]
    ranked = [item for item, _ in convex_fusion(bm25, dense, 0.5)]
    # "b" is near the top of both; by rank alone (RRF) "a" and "c" would tie with it
    assert ranked[0] == "b"
    scores = dict(convex_fusion(bm25, dense, 0.5))
    assert abs(scores["b"] - (0.5 * 29 / 30 + 0.5 * 0.60 / 0.62)) < 1e-9


def test_each_collections_bm25_is_normalized_by_its_own_best() -> None:
    small = [("s1", 4.0), ("s2", 1.0)]  # a small collection: low BM25 scores
    large = [("l1", 40.0), ("l2", 10.0)]
    fused = dict(convex_fusion([small, large], [], 1.0))
    assert fused["s1"] == fused["l1"] == 1.0  # each collection's best match counts the same


def test_a_candidate_missing_from_one_list_gets_that_lists_lowest_score() -> None:
    fused = dict(convex_fusion([[("a", 10.0), ("b", 5.0)]], [("c", 0.8), ("a", 0.4)], 0.4))
    assert abs(fused["c"] - (0.4 * 0.5 + 0.6 * 1.0)) < 1e-9  # BM25 floor: b's 5/10
    assert abs(fused["b"] - (0.4 * 0.5 + 0.6 * 0.5)) < 1e-9  # dense floor: a's 0.4/0.8
    assert convex_fusion([], [], 0.4) == []
    only_keywords = convex_fusion([[("x", 2.0), ("y", 1.0)]], [], 0.4)
    assert [i for i, _ in only_keywords] == ["x", "y"]


def test_a_candidate_missing_from_every_complete_keyword_list_gets_no_keyword_credit() -> None:
    # one note shares a word with the query; 3,334 passages of a log file share none but
    # sit near it in meaning: with the floor taken from the one-hit list they all got the
    # note's full BM25 credit and buried it (eleventh new-user trial)
    dense = [(f"log{i}", 0.30) for i in range(5)] + [("note", 0.25)]
    fused = convex_fusion([[("note", 7.0)]], dense, 0.4, depth=100)
    assert fused[0][0] == "note" and dict(fused)["log0"] == 0.6 * 1.0
    cut = convex_fusion([[("note", 7.0)]], dense, 0.4, depth=1)  # the list was cut: the floor stands
    assert dict(cut)["log0"] == 0.4 * 1.0 + 0.6 * 1.0
