"""The web app, used as a patient and an admin would, in a real headless Chromium against
real ``medkb serve`` and ``medkb ui`` processes (fixtures in ``tests/ui/conftest.py``).
Every page leaves a screenshot under test-artifacts/screenshots/."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from tests.ui.conftest import TENANT, XSS_QUESTION, XSS_RESPONSE, Stack, screenshot, sign_in

EMERGENCY = "My father has crushing chest pain spreading to his left arm and is sweating"


def ask(page: Any, question: str) -> Any:
    """Ask on the Ask page; returns the finished answer's element."""
    page.fill("#question", question)
    page.click("#ask-form button[type=submit]")
    turn = page.locator("article.msg.bot").last
    turn.and_(page.locator("[data-done=true]")).wait_for()
    return turn


def test_sign_in_refuses_a_wrong_key_then_accepts_the_right_one(page: Any, stack: Stack) -> None:
    page.goto(stack.ui_url)
    screenshot(page, "sign-in")
    page.fill("#api-key", "mk_000000000000_wrong")
    page.click("#sign-in button[type=submit]")
    assert "wrong, unknown or revoked" in page.locator("#sign-in .note.error").inner_text()
    assert page.locator("#nav").is_hidden()
    sign_in(page, stack)
    assert page.locator("#view-ask").is_visible()
    assert page.evaluate("sessionStorage.getItem('medkb.key')") == stack.key


def test_a_question_gets_a_streamed_cited_answer_with_sources_and_can_be_rated(
    page: Any, stack: Stack
) -> None:
    sign_in(page, stack)
    turn = ask(page, "What is high blood pressure?")
    assert turn.locator(".urgent").is_hidden()
    assert turn.locator(".answer a.cite").count() >= 1
    sources = turn.locator("ol.sources li.source")
    assert sources.count() >= 1
    assert "blood pressure" in sources.first.inner_text().lower()
    first_cite = turn.locator(".answer a.cite").first.get_attribute("href")
    assert turn.locator(first_cite).count() == 1  # each [n] points at source n
    assert turn.locator(".related li").count() >= 1
    turn.locator("button.star").nth(4).click()
    page.wait_for_selector("text=Thank you: rated 5 of 5.")
    screenshot(page, "ask")
    with httpx.Client(base_url=stack.api.url, headers=_auth(stack)) as api:
        feedback = api.get("/v1/analytics").json()["feedback"]
    assert feedback["ratings"]["5"] >= 1


def test_an_emergency_question_shows_the_urgent_notice_first(page: Any, stack: Stack) -> None:
    sign_in(page, stack)
    turn = ask(page, EMERGENCY)
    urgent = turn.locator(".urgent[role=alert]")
    assert urgent.is_visible()
    assert "emergency" in urgent.inner_text().lower()
    above = page.evaluate(
        "([u, a]) => !!(u.compareDocumentPosition(a) & Node.DOCUMENT_POSITION_FOLLOWING)",
        [urgent.element_handle(), turn.locator(".answer").element_handle()],
    )
    assert above, "the urgent notice must come before the answer"
    screenshot(page, "ask-emergency")


def test_markup_in_a_pair_is_shown_as_text_and_never_runs(page: Any, stack: Stack) -> None:
    sign_in(page, stack)
    turn = ask(page, "What is the rare made-up syndrome?")
    shown = turn.inner_text()
    assert "<script>window.__xss=2</script>" in shown or "<img src=x" in shown, shown
    assert turn.locator("script, img").count() == 0
    page.goto(f"{stack.ui_url}/#/admin/pairs")
    _open(page, stack.xss_id)
    assert page.locator(f"tr[data-id='{stack.xss_id}'] .pair-question").inner_text() == (
        XSS_QUESTION
    )
    assert page.locator("#edit-question").input_value() == XSS_QUESTION
    assert page.locator("#edit-response").input_value() == XSS_RESPONSE
    assert page.locator("main img, main script").count() == 0
    assert page.evaluate("window.__xss") is None


def test_an_uploaded_document_shows_its_progress_and_its_pairs(
    page: Any, stack: Stack, tmp_path: Path
) -> None:
    guide = tmp_path / "sleep-guide.md"
    guide.write_text(
        "# Sleep\n\n## How much sleep do teenagers need?\n\nTeenagers need 8 to 10 hours of "
        "sleep a night.\n\n## Is napping good for adults?\n\nA short nap of 20 minutes can "
        "restore alertness.\n"
    )
    sign_in(page, stack, "#/admin/documents")
    page.set_input_files("#upload-files", str(guide))
    page.click("#upload-form button[type=submit]")
    page.wait_for_selector("#job-pairs")
    made = page.locator("#job-pairs li.job-pair").all_inner_texts()
    assert sorted(made) == ["How much sleep do teenagers need?", "Is napping good for adults?"]
    bar = page.locator(".job progress")
    assert bar.get_attribute("value") == bar.get_attribute("max") == "1"  # one file, done
    assert "sleep-guide.md" in page.locator("#documents").inner_text()
    screenshot(page, "documents")


def test_a_pair_is_edited_drawn_and_deleted(page: Any, stack: Stack) -> None:
    with httpx.Client(base_url=stack.api.url, headers=_auth(stack)) as api:
        made = api.post("/v1/pairs", json={
            "question": "What is a stye on the eyelid?",
            "response": "A stye is a painful red lump on the eyelid from a blocked gland.",
        }).json()  # fmt: skip
    sign_in(page, stack, "#/admin/pairs")
    page.wait_for_selector("#pair-table table")
    assert page.locator("#pair-table tbody tr").count() == 25  # one page
    screenshot(page, "pairs")
    _open(page, "demo-002")
    page.wait_for_selector("#pair-graph svg.graph")
    assert page.locator("#pair-graph g.node").count() >= 2  # the pair and a neighbour
    assert page.locator("#pair-graph g.edge").count() >= 1
    one_hop = page.locator("#pair-graph g.node").count()
    page.select_option("#graph-depth", "2")
    page.locator("#pair-graph g.node").nth(one_hop).wait_for()  # more pairs at two hops
    screenshot(page, "pair-graph")
    _open(page, made["id"])
    page.fill("#edit-question", "What is a stye (hordeolum)?")
    page.fill("#edit-category", "Eyes")
    page.click("#edit-form button[type=submit]")
    page.wait_for_selector("#edit-form .note.ok")
    with httpx.Client(base_url=stack.api.url, headers=_auth(stack)) as api:
        stored = api.get(f"/v1/pairs/{made['id']}").json()
        assert stored["question"] == "What is a stye (hordeolum)?"
        assert stored["metadata"]["category"] == "Eyes"
        page.once("dialog", lambda dialog: dialog.accept())
        page.click("#delete-pair")
        page.wait_for_selector(f"text=Deleted {made['id']}.")
        assert api.get(f"/v1/pairs/{made['id']}").status_code == 404
    screenshot(page, "pair-deleted")


def test_sync_and_analytics_pages_render_their_plots(page: Any, stack: Stack) -> None:
    sign_in(page, stack, "#/admin/sync")
    page.wait_for_selector("#view-sync table.kv")
    assert "In sync" in page.locator("#view-sync .note").inner_text()
    screenshot(page, "sync")
    page.goto(f"{stack.ui_url}/#/admin/analytics")
    page.wait_for_selector("#chart-feedback svg")
    for chart in ("per-day", "latency", "top", "feedback"):
        assert page.locator(f"#chart-{chart} svg.chart rect").count() >= 1, chart
    assert page.locator("#chart-top svg text").count() >= 2  # questions are labelled
    screenshot(page, "analytics")


def _open(page: Any, qa_id: str) -> None:
    """Open ``qa_id`` from the pairs table, paging until it shows."""
    page.fill("#pair-search", qa_id)
    for number in range(2, 20):
        page.wait_for_selector(f"#pair-table[data-page='{number - 1}']")
        if page.locator(f"tr[data-id='{qa_id}']").count():
            break
        page.click("#next-page")
    page.click(f"tr[data-id='{qa_id}'] button")
    page.wait_for_selector(f"#edit-form h2:text('Pair {qa_id}')")


def _auth(stack: Stack) -> dict[str, str]:
    return {"Authorization": f"Bearer {stack.api.keys[TENANT]}"}
