"""The wall's figures side by side: a satisfied share that does not compare across scales is marked (issue 18)."""

from __future__ import annotations

import pytest
from web_support import open_page

from collector.db import connect
from collector.registry import add_site
from collector.walls import create_wall

pytestmark = [pytest.mark.browser, pytest.mark.mosquitto]


def open_wall(browser, stack, subject: str):
    db = connect(stack.db_path)
    _, secret = create_wall(db, subject, "test")
    db.close()
    page = open_page(browser, 1280, 720)
    page.goto(f"{stack.web.url}/wall/{secret}")
    page.wait_for_function("window.__wallStatus.snapshots > 0")
    return page


def test_a_wall_mixing_4_faces_with_3_marks_the_satisfied_share(browser, collector_stack):
    db = connect(collector_stack.db_path)
    add_site(db, "ccas", "CCAS", org="default", scale=3)  # "mairie" (4 faces) is in "default" too
    add_site(db, "annexe", "Annexe", org="autre", scale=3)
    add_site(db, "poste", "Poste", org="autre", scale=5)
    db.close()
    collector_stack.start()
    mixed = open_wall(browser, collector_stack, "default")
    note = mixed.get_by_test_id("not-comparable")
    assert note.is_visible() and "4 visages" in note.inner_text()
    assert mixed.locator(".rate-label").first.inner_text().endswith("*")
    mixed.context.close()
    odd = open_wall(browser, collector_stack, "autre")  # 3 and 5 faces: both have a neutral face
    assert not odd.get_by_test_id("not-comparable").is_visible()
    assert not odd.locator(".rate-label").first.inner_text().endswith("*")
    odd.context.close()
