"""Demo data shipped with medkb, written for the project (not taken from any data set).

- ``qa.jsonl``: 50 general-audience Q&A pairs over hypertension, heart attack, stroke,
  migraine, diabetes, asthma, influenza, vaccination, depression, nutrition and lifestyle,
  with categories, tags and cross-topic links (blood pressure ↔ stroke ↔ heart attack,
  diabetes ↔ heart disease, flu ↔ vaccination ↔ asthma, …) so that a graph forms.
- ``heart-health.pdf`` (3 pages) and ``diabetes-care.docx`` (3 pages): documents with
  headings, body text, a table and a ``Q:``/``A:`` FAQ, made by ``bench/make_demo_docs.py``.

The text is general health information, not medical advice.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

DEMO_FILES = ("qa.jsonl", "heart-health.pdf", "diabetes-care.docx")

#: Questions ``medkb demo`` asks the demo knowledge base; each is answered by the files.
DEMO_QUESTIONS = (
    "What are the warning signs of a stroke?",
    "How can I lower my blood pressure without medicine?",
    "What should I do if my blood sugar is too low?",
    "Should people with asthma get the flu vaccine?",
    "Is a stroke the same as a heart attack?",
)


def demo_files() -> list[Path]:
    """Paths of the demo files, ready for ``load_file`` / ``medkb ingest``.

    Example: ``[load_file(path) for path in demo_files()]``.
    """
    folder = resources.files(__name__)
    return [Path(str(folder.joinpath(name))) for name in DEMO_FILES]
