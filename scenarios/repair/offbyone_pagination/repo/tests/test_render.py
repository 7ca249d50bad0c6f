from pager import render_page


def test_render_second_page():
    assert render_page(["a", "b", "c", "d"], 2, 2) == "- c\n- d\npage 2 of 2"


def test_render_footer():
    assert render_page(["a"], 1, 5).endswith("page 1 of 1")
