"""Query logs no longer keep the e-mail addresses and phone numbers people type."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from medkb.app import KnowledgeBase, build
from medkb.config import Settings
from medkb.stores.relational.schema import query_logs
from tests.integration.test_kb import CARDIO

QUESTION = (
    "Hello doctor, how is high blood pressure treated? My BP is 150/95 and I take 10 mg "
    "amlodipine. Email me at jane.doe@example.com or call +44 20 7946 0958."
)


def logged(kb: KnowledgeBase, log_id: int) -> sa.Row[tuple[str, str, str | None]]:
    with kb.engine.connect() as conn:
        return conn.execute(
            sa.select(query_logs.c.query, query_logs.c.answer, query_logs.c.feedback_comment).where(
                query_logs.c.id == log_id
            )
        ).one()


@pytest.fixture
def raw_logs(settings: Settings) -> Iterator[KnowledgeBase]:
    settings.privacy.redact_query_logs = False
    with build(settings) as kb:
        yield kb


def test_query_logs_keep_no_email_or_phone_number(kb: KnowledgeBase) -> None:
    kb.add(CARDIO)
    result = kb.query(QUESTION)
    assert result.query == QUESTION  # the caller gets its own text back
    assert result.query_log_id is not None
    kb.feedback(result.query_log_id, rating=4, comment="Reach me on (555) 123-4567")
    query, _, comment = logged(kb, result.query_log_id)
    assert "jane.doe" not in query and "7946" not in query
    assert query.endswith("Email me at [email] or call [phone].")
    assert "150/95" in query and "10 mg" in query  # medical numbers survive
    assert comment == "Reach me on [phone]"


def test_raw_query_logs_when_redaction_is_off(raw_logs: KnowledgeBase) -> None:
    raw_logs.add(CARDIO)
    result = raw_logs.query(QUESTION)
    assert result.query_log_id is not None
    raw_logs.feedback(result.query_log_id, rating=2, comment="Reach me on (555) 123-4567")
    query, _, comment = logged(raw_logs, result.query_log_id)
    assert query == QUESTION
    assert comment == "Reach me on (555) 123-4567"
