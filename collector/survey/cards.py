"""What takes citizens to a survey link: printable QR cards (A5, A6, a sticker), the QR code alone as
SVG, and an HTML button to paste on the town's website.

The QR code is made by segno, the PDF by WeasyPrint (both imported on use, like the reports':
collector/reports_pdf/render.py); the card loads nothing from outside the page. French first,
English second. The short link is printed under the code for those who type it.
"""

from __future__ import annotations

import io
from html import escape

from collector.reports_pdf.render import RENDERER_FIX, RendererMissing, qr_data_uri
from collector.survey.links import Link
from ressenti.errors import RessentiError

# name -> (CSS page size, QR side, title size): A5 on a desk, A6 handed out, a 80 mm sticker on a door.
CARD_SIZES = {"a5": ("A5", "95mm", "20pt", "12pt"), "a6": ("A6", "55mm", "13pt", "8pt"),
              "sticker": ("80mm 80mm", "50mm", "10pt", "7pt")}


class CardError(RessentiError, ValueError):
    """A card cannot be made (no public address set, an unknown size); the message says why."""


def link_url(base_url: str | None, link: Link) -> str:
    """The short link citizens type or scan: RESSENTI_BASE_URL + /s/<slug>."""
    if not base_url or not base_url.startswith(("https://", "http://")):
        raise CardError("RESSENTI_BASE_URL must be set to the collector's public address, e.g."
                        " https://avis.ville.fr, for the survey link's QR code")
    return f"{base_url.rstrip('/')}{link.path}"


def card_html(url: str, site_name: str, desk: str | None, size: str) -> str:
    if size not in CARD_SIZES:
        raise CardError(f"card size {size!r} must be a5, a6 or sticker")
    page, qr_side, title, text = CARD_SIZES[size]
    where = escape(site_name + (f" — {desk}" if desk else ""))
    short = escape(url.split("://", 1)[1])
    sticker = size == "sticker"
    texts = "" if sticker else """
  <p class="fr">Dites-nous comment s'est passé votre accueil : une question, moins d'une minute, anonyme.</p>
  <p class="en" lang="en">Tell us how you were welcomed: one question, under a minute, anonymous.</p>"""
    return f"""<!doctype html><html lang="fr"><head><meta charset="utf-8"><title>{where}</title><style>
@page {{ size: {page}; margin: {"4mm" if sticker else "8mm"}; }}
body {{ font-family: "DejaVu Sans", sans-serif; font-size: {text}; text-align: center; margin: 0; color: #111; }}
p {{ margin: 1mm 0; }}
h1 {{ font-size: {title}; margin: 0 0 2mm; }} .en {{ color: #444; }}
h1 .en {{ display: block; font-size: 0.7em; font-weight: normal; }}
img {{ width: {qr_side}; height: {qr_side}; display: block; margin: 3mm auto; }}
.where {{ margin: 0; }}
.url {{ font-family: "DejaVu Sans Mono", monospace; font-size: 1.1em; font-weight: bold; }}
</style></head><body>
  <h1>Votre avis compte<span class="en" lang="en">Your opinion counts</span></h1>{texts}
  <img src="{qr_data_uri(url)}" alt="QR code : {escape(url)}">
  <p class="url">{short}</p>
  <p class="where">{where}</p>
</body></html>"""


def card_pdf(url: str, site_name: str, desk: str | None, size: str) -> bytes:
    """The printable card: its QR code decodes to `url`."""
    html = card_html(url, site_name, desk, size)
    try:
        from weasyprint import HTML, URLFetcher
    except (ImportError, OSError) as exc:
        raise RendererMissing(f"{RENDERER_FIX}: {exc}") from exc
    fetcher = URLFetcher(allowed_protocols=("data",), allow_redirects=False)
    return bytes(HTML(string=html, url_fetcher=fetcher).write_pdf())


def qr_svg(url: str) -> bytes:
    """The QR code alone, as an SVG file for the town's own printed matter."""
    try:
        import segno
    except ImportError as exc:
        raise RendererMissing(f"{RENDERER_FIX}: {exc}") from exc
    out = io.BytesIO()
    segno.make(url, error="m").save(out, kind="svg", scale=10, border=4, dark="#000", light="#fff",
                                    title="QR code", xmldecl=True)
    return out.getvalue()


def embed_snippet(url: str) -> str:
    """An HTML button for the town's website: a plain link with inline styles, no script, no tracker."""
    href = escape(url, quote=True)
    return (f'<a href="{href}" lang="fr" style="display:inline-block;padding:0.6em 1.2em;border-radius:0.4em;'
            'background:#000091;color:#fff;font:bold 1rem sans-serif;text-decoration:none">'
            'Donnez votre avis sur notre accueil</a>')
