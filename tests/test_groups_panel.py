"""The Checks page's "Exceptional or lucky?" section (ui.groups_panel) with AppTest."""

from __future__ import annotations

import hiermod
from hiermod.datasets import load_dataset
from hiermod.group_ranks import rank_table
from hiermod.spec import ModelSpec
from test_results_pages import new_app, with_fits

PAGE = "pages/6_Checks_and_comparison.py"


def _texts(at) -> str:
    """The page's markdown as shown (components.md_escape's backslashes removed)."""
    return " ".join(m.value for m in at.markdown).replace("\\", "")


def test_the_section_names_the_likely_best_group_and_the_logo_verdict():
    fit = hiermod.fit(load_dataset("eight_schools"), ModelSpec("normal_known_se"), method="instant", draws=500)
    at = with_fits(new_app(), fit)
    at.switch_page(PAGE).run(timeout=120)
    assert not at.exception, at.exception
    assert "Exceptional or lucky?" in [h.value for h in at.header]
    best = rank_table(fit).sort_values("p_best", ascending=False).iloc[0]
    text = _texts(at)
    assert f"Most likely the best: {best['group']}" in text
    assert "I²" in text and "DerSimonian-Laird" in text
    assert "95% interval predicted from the other groups" in text or "outside" in text


def test_lower_is_better_turns_the_ranking_round():
    fit = hiermod.fit(load_dataset("eight_schools"), ModelSpec("normal_known_se"), method="instant", draws=500)
    at = with_fits(new_app(), fit)
    at.switch_page(PAGE).run(timeout=120)
    at.toggle(key="w_groups_higher").set_value(False).run(timeout=120)
    assert not at.exception, at.exception
    worst = rank_table(fit, higher_is_better=False).sort_values("p_best", ascending=False).iloc[0]
    assert f"Most likely the best: {worst['group']}" in _texts(at)


def test_complete_pooling_says_there_is_nothing_to_rank():
    fit = hiermod.fit(load_dataset("eight_schools"), ModelSpec("normal_known_se", pooling="complete"),
                      method="instant", draws=300)
    at = with_fits(new_app(), fit)
    at.switch_page(PAGE).run(timeout=120)
    assert not at.exception, at.exception
    assert any("nothing to rank" in i.value for i in at.info)
