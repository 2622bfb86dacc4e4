"""Helpers of the PDF report tests: a seeded database with known figures, and poppler to read PDFs."""

from __future__ import annotations

import subprocess
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlite_utils import Database
from web_support import Press, store_presses

from collector.registry import add_kiosk, add_org, add_site

PARIS = ZoneInfo("Europe/Paris")
OCTOBER = date(2026, 10, 1)
# October 2026 at the town hall: 31 days x 4 answers = 124; ratings 4, 4, 3, 1 each day (4 faces):
# satisfied 93 of 124 = 75 %, dissatisfied 31 = 25 %, net +50 %. September: 30 days x (4, 3, 2, 1):
# satisfied 60 of 120 = 50 %, net 0 %. The annex has 3 answers in October: too few to show.
OCTOBER_RATINGS = (4, 4, 3, 1)
SEPTEMBER_RATINGS = (4, 3, 2, 1)


def seed_known(db: Database) -> None:
    add_org(db, "ville", "Ville de Pont")
    add_site(db, "mairie", "Mairie centrale", org="ville", scale=4)
    add_site(db, "annexe", "Annexe Sud", org="ville", scale=4)
    add_kiosk(db, "mairie-borne-1", "mairie")
    add_kiosk(db, "annexe-borne-1", "annexe")
    presses = []
    for days, first, ratings in ((30, date(2026, 9, 1), SEPTEMBER_RATINGS), (31, OCTOBER, OCTOBER_RATINGS)):
        for i in range(days):
            day = first + timedelta(days=i)
            for hour, rating in zip((9, 10, 14, 16), ratings, strict=True):
                presses.append(Press(datetime(day.year, day.month, day.day, hour, 15, tzinfo=PARIS), rating))
    store_presses(db, "mairie-borne-1", "mairie", presses)
    store_presses(db, "annexe-borne-1", "annexe",
                  [Press(datetime(2026, 10, 5, 10, m, tzinfo=PARIS), 4) for m in (1, 2, 3)])


def pdf_pages(pdf: Path) -> int:
    out = subprocess.run(["pdfinfo", str(pdf)], check=True, capture_output=True, text=True).stdout
    return int(next(line.split()[-1] for line in out.splitlines() if line.startswith("Pages:")))


def pdf_page_size(pdf: Path) -> str:
    out = subprocess.run(["pdfinfo", str(pdf)], check=True, capture_output=True, text=True).stdout
    return next(line.split(":", 1)[1].strip() for line in out.splitlines() if line.startswith("Page size:"))


def pdf_text(pdf: Path, page: int | None = None, *, layout: bool = False) -> str:
    """The PDF's text (`layout`: table rows kept on one line each)."""
    pages = ["-f", str(page), "-l", str(page)] if page else []
    command = ["pdftotext", *pages, *(["-layout"] if layout else []), str(pdf), "-"]
    text = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return text.replace("\u202f", " ").replace("\xa0", " ")


def pdf_to_pngs(pdf: Path, resolution: int = 80) -> list[Path]:
    stem = pdf.with_suffix("")
    subprocess.run(["pdftoppm", "-r", str(resolution), "-png", str(pdf), str(stem)], check=True)
    return sorted(pdf.parent.glob(f"{stem.name}-*.png"))


def qr_codes(png: Path) -> list[str]:
    out = subprocess.run(["zbarimg", "--quiet", "--raw", str(png)], capture_output=True, text=True)
    return [line for line in out.stdout.splitlines() if line]


def attachments(pdf: Path) -> list[str]:
    out = subprocess.run(["pdfdetach", "-list", str(pdf)], check=True, capture_output=True, text=True).stdout
    return [line.split(": ", 1)[1] for line in out.splitlines()[1:] if ": " in line]
