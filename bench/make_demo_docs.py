"""Write the demo documents shipped in src/medkb/demo: heart-health.pdf and diabetes-care.docx.

Run once from the repository root (needs the dev extra: fpdf2, python-docx):

    python bench/make_demo_docs.py

The text is general-audience health information written for medkb's demo; it is not
medical advice. Both files have headings, body text and an FAQ in "Q:/A:" form, so they
exercise every rule of the document parser. Dates are fixed so reruns change little.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import docx
from docx.document import Document as DocxDocument
from docx.shared import Pt
from fpdf import FPDF

DEMO = Path(__file__).resolve().parents[1] / "src" / "medkb" / "demo"
FIXED_DATE = dt.datetime(2025, 1, 15, 9, 0, tzinfo=dt.UTC)
AUTHOR = "medkb demo (written for this project)"

Section = tuple[str, list[str]]

HEART: list[list[Section]] = [
    [
        (
            "High Blood Pressure",
            [
                "Blood pressure is the force of blood against the walls of your arteries. It is "
                "written as two numbers, such as 118/76 mmHg: the pressure when the heart beats "
                "over the pressure when it rests. For most adults a reading below 120/80 mmHg "
                "is normal.",
                "High blood pressure rarely causes symptoms, so the only way to know your "
                "numbers is to measure them. Left untreated, it strains the heart and damages "
                "arteries, raising the risk of heart attack, stroke and kidney disease. Eating "
                "less salt, staying active, keeping a healthy weight, limiting alcohol and not "
                "smoking all help, and many people also need medicine.",
            ],
        ),
        (
            "Warning Signs of a Heart Attack",
            [
                "A heart attack happens when blood flow to part of the heart muscle is blocked. "
                "The most common sign is chest discomfort: pressure, squeezing, fullness or pain "
                "that lasts more than a few minutes, or goes away and comes back.",
                "Other signs are discomfort in one or both arms, the back, neck, jaw or stomach; "
                "shortness of breath; and breaking out in a cold sweat, nausea or "
                "light-headedness. Women are more likely than men to have some of these other "
                "signs, especially shortness of breath, nausea and back or jaw pain.",
                "If you notice these signs, call your local emergency number straight away. Do "
                "not wait to see if they pass, and do not drive yourself to hospital.",
            ],
        ),
    ],
    [
        (
            "Stroke: Think FAST",
            [
                "A stroke happens when blood flow to part of the brain is blocked or a blood "
                "vessel in the brain bursts. Think FAST: Face drooping, Arm weakness, Speech "
                "difficulty, Time to call emergency services.",
                "Other sudden signs include numbness of the leg, confusion, trouble seeing, loss "
                "of balance and a severe headache with no known cause. Note the time the first "
                "symptom appeared, because some treatments can only be given within a few hours.",
            ],
        ),
        (
            "Cholesterol and Your Heart",
            [
                "Cholesterol is a fatty substance carried in the blood. Too much LDL cholesterol "
                "builds up as plaque in the arteries and narrows them. High cholesterol has no "
                "symptoms; a simple blood test, the lipid panel, measures it.",
                "Eating less saturated fat, choosing whole grains, vegetables, beans and fish, "
                "and staying active improve cholesterol levels. Some people also need a "
                "cholesterol-lowering medicine such as a statin.",
            ],
        ),
        (
            "Staying Active",
            [
                "Adults should aim for at least 150 minutes of moderate activity, such as brisk "
                "walking, every week, plus muscle-strengthening exercise on two days. Regular "
                "activity lowers blood pressure, improves cholesterol and helps control weight.",
            ],
        ),
    ],
    [
        (
            "Frequently Asked Questions",
            [
                "Q: Can I feel it when my blood pressure is high?",
                "A: Usually not. Most people with high blood pressure feel well, which is why "
                "regular checks matter. Very high readings with chest pain, severe headache, "
                "confusion or shortness of breath need emergency care.",
                "Q: Is a stroke the same as a heart attack?",
                "A: No. A heart attack affects the heart muscle and a stroke affects the brain, "
                "but both are usually caused by a blocked blood vessel and both are emergencies.",
                "Q: Should I take aspirin if I think I am having a heart attack?",
                "A: Call emergency services first. The dispatcher may tell you to chew an aspirin "
                "if you are not allergic to it and have not been told to avoid it.",
                "Q: How can I lower my risk of heart disease?",
                "A: Do not smoke, be active most days, eat plenty of vegetables, fruit and whole "
                "grains, and keep your blood pressure, cholesterol and blood sugar in check.",
            ],
        ),
    ],
]

DIABETES: list[Section | str] = [
    (
        "Understanding Diabetes",
        [
            "Diabetes means that the level of sugar (glucose) in your blood is too high. In "
            "type 1 diabetes the body makes little or no insulin; in type 2 diabetes the body "
            "does not use insulin well. Both types can be managed, and good care prevents many "
            "complications.",
            "Over time, high blood sugar can damage the heart, blood vessels, eyes, kidneys, "
            "nerves and feet. Keeping blood sugar, blood pressure and cholesterol near target "
            "lowers these risks.",
        ],
    ),
    (
        "Checking Your Blood Sugar",
        [
            "Your care team will tell you how often to check your blood sugar and which targets "
            "suit you. Many adults with diabetes aim for the following:",
            "TABLE",
            "The A1C blood test shows your average blood sugar over the past two to three "
            "months. A common goal for many adults is an A1C below 7 percent.",
        ],
    ),
    "PAGE BREAK",
    (
        "Healthy Eating",
        [
            "There is no single diabetes diet. A helpful guide is the plate method:",
            "- Fill half your plate with non-starchy vegetables.",
            "- Fill a quarter with lean protein such as fish, chicken, eggs or beans.",
            "- Fill a quarter with carbohydrate foods, choosing whole grains where you can.",
            "Drink water instead of sugary drinks, and spread carbohydrate foods through the "
            "day rather than eating them all at once.",
        ],
    ),
    (
        "Staying Active",
        [
            "Physical activity helps your body use insulin and lowers blood sugar. Aim for at "
            "least 150 minutes of moderate activity a week, and try not to go more than two "
            "days in a row without exercise. If you use insulin, check your blood sugar before "
            "and after exercise and carry a fast-acting sugar.",
        ],
    ),
    "PAGE BREAK",
    (
        "Looking After Your Feet",
        [
            "Diabetes can reduce feeling in the feet and slow healing, so small injuries can "
            "turn into serious problems. Check your feet every day for cuts, blisters, redness "
            "or swelling, wash and dry them carefully, and wear shoes that fit well. Never walk "
            "barefoot, and see your care team about any sore that does not heal.",
        ],
    ),
    (
        "Frequently Asked Questions",
        [
            "Q: What should I do if my blood sugar is low?",
            "A: If it is below 70 mg/dL (3.9 mmol/L), take 15 grams of fast-acting carbohydrate, "
            "such as glucose tablets or half a glass of juice. Check again after 15 minutes and "
            "repeat if needed, then eat a snack or meal.",
            "Q: Can type 2 diabetes go away?",
            "A: Some people reach normal blood sugar levels through weight loss and lifestyle "
            "changes, which is called remission. Diabetes can return, so regular check-ups "
            "are still needed.",
            "Q: Is fruit safe to eat if I have diabetes?",
            "A: Yes. Whole fruit contains fibre, vitamins and minerals. Count it as part of your "
            "carbohydrate intake and choose whole fruit over juice.",
        ],
    ),
]

TARGETS = [
    ("Time of check", "Target (mg/dL)", "Target (mmol/L)"),
    ("Before meals", "80 to 130", "4.4 to 7.2"),
    ("1 to 2 hours after starting a meal", "below 180", "below 10.0"),
]


class _HeartPdf(FPDF):
    def footer(self) -> None:
        self.set_y(-15)
        self.set_font("Helvetica", "I", 8)
        self.cell(0, 10, f"medkb demo - Heart Health - page {self.page_no()} of 3", align="C")


def make_pdf(path: Path) -> None:
    """heart-health.pdf: a title, five Title Case sections on two pages, an FAQ page."""
    pdf = _HeartPdf()
    pdf.set_title("Heart Health")
    pdf.set_author(AUTHOR)
    pdf.set_subject("Blood pressure, heart attack and stroke warning signs, cholesterol")
    pdf.set_creation_date(FIXED_DATE)
    for number, page in enumerate(HEART):
        pdf.add_page()
        if number == 0:
            _pdf_text(pdf, "Heart Health", size=20, style="B")
            _pdf_text(pdf, "A short guide to keeping your heart and blood vessels healthy.")
        for heading, paragraphs in page:
            _pdf_text(pdf, heading, size=14, style="B")
            for paragraph in paragraphs:
                _pdf_text(pdf, paragraph)
    pdf.output(str(path))


def _pdf_text(pdf: FPDF, text: str, *, size: int = 11, style: str = "") -> None:
    pdf.set_font("Helvetica", style, size)
    pdf.multi_cell(0, size * 0.55, text, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)


def make_docx(path: Path) -> None:
    """diabetes-care.docx: a title, six Heading 1 sections on three pages, a table, an FAQ."""
    document = docx.Document()
    document.styles["Normal"].font.size = Pt(11)
    document.add_paragraph("Diabetes Care", style="Title")
    document.add_paragraph("Everyday tips for living well with diabetes.")
    for item in DIABETES:
        if isinstance(item, str):
            document.add_page_break()
            continue
        heading, paragraphs = item
        document.add_heading(heading, level=1)
        for paragraph in paragraphs:
            _docx_paragraph(document, paragraph)
    properties = document.core_properties
    properties.title = "Diabetes Care"
    properties.author = AUTHOR
    properties.keywords = "diabetes, blood sugar, healthy eating, foot care"
    properties.language = "en"
    properties.created = properties.modified = FIXED_DATE.replace(tzinfo=None)
    document.save(str(path))


def _docx_paragraph(document: DocxDocument, text: str) -> None:
    if text == "TABLE":
        table = document.add_table(rows=0, cols=3)
        for row in TARGETS:
            cells = table.add_row().cells
            for cell, value in zip(cells, row, strict=True):
                cell.text = value
    elif text.startswith("- "):
        document.add_paragraph(text[2:], style="List Bullet")
    else:
        document.add_paragraph(text)


def main() -> None:
    make_pdf(DEMO / "heart-health.pdf")
    make_docx(DEMO / "diabetes-care.docx")
    for name in ("heart-health.pdf", "diabetes-care.docx"):
        print(f"{DEMO / name}: {(DEMO / name).stat().st_size:,} bytes")


if __name__ == "__main__":
    main()
