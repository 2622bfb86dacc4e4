"""Time and peak memory to render the monthly PDF report of one site and of an organisation of 200 sites.

    .venv/bin/python bench/report_render.py [--events 1000000] [--sites 200] [--db PATH] [--runs 3]

Builds (once; reused when it exists with the same shape) a year of presses for
`--sites` sites of one organisation, as bench/query_latency.py does (inside
SQLite, then `rebuild_rollups`). Each case runs in a fresh process, so its peak
resident memory (ru_maxrss) is its own: the baseline is the same process that
imports everything and opens the database but renders nothing, and the
dashboard's figures for the same scope and month (`build_view`), measured in
the same run. Targets (issue 13): the organisation's PDF in at most 5 s and 300 MB.
"""

from __future__ import annotations

import argparse
import json
import resource
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import table
from query_latency import build

ORG = "metropole"


def ensure_db(path: Path, events: int, sites: int) -> None:
    shape = {"events": events, "sites": sites, "followups": True}
    marker = path.parent / (path.name + ".shape")
    if path.exists() and marker.exists() and json.loads(marker.read_text()) == {**shape, "org": ORG}:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    for stale in (path, marker):
        stale.unlink(missing_ok=True)
    print(f"building {events:,} events on {sites} sites (once)...", file=sys.stderr)
    build(path, events, sites)
    conn = sqlite3.connect(path)
    conn.execute("INSERT OR IGNORE INTO orgs (id, name) VALUES (?, ?)", (ORG, "Métropole (200 sites)"))
    conn.execute("UPDATE sites SET org = ?", (ORG,))  # one organisation of every site
    conn.commit()
    conn.close()
    marker.write_text(json.dumps({**shape, "org": ORG}))


def last_month() -> date:
    return datetime.now(UTC).date().replace(day=1) - timedelta(days=1)


def _pages(pdf: bytes) -> int:
    """Pages of a PDF, as poppler's pdfinfo counts them (WeasyPrint compresses its page objects)."""
    import tempfile
    with tempfile.NamedTemporaryFile(suffix=".pdf") as f:
        f.write(pdf)
        f.flush()
        info = subprocess.run(["pdfinfo", f.name], check=True, capture_output=True, text=True).stdout
    return int(next(line.split()[-1] for line in info.splitlines() if line.startswith("Pages:")))


def child(db_path: str, case: str, scope: str) -> None:
    """One measurement in this process: prints JSON with the seconds and the peak RSS."""
    from collector.db import connect
    from collector.reports_pdf.content import content_for, resolve_scope
    from collector.reports_pdf.render import rendering, report_pdf

    db = connect(db_path)
    kind, _, ident = scope.partition(":")
    target = resolve_scope(db, **{kind: ident})
    day, now = last_month(), datetime.now(UTC)
    started = time.perf_counter()
    pages = 0
    if case == "figures":
        from collector.reports import build_report
        build_report(db, target.sites, day.replace(day=1), day)
    elif case == "pdf":
        with rendering("fr"):
            content = content_for(db, target, "month", day, now)
            figures_s = time.perf_counter() - started
            pdf = report_pdf(db, content)
        pages = _pages(pdf)
    elapsed = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"s": elapsed, "peak_mb": peak_mb, "pages": pages,
                      "figures_s": figures_s if case == "pdf" else elapsed}))


def measure(db: Path, case: str, scope: str, runs: int) -> dict[str, float]:
    results = []
    for _ in range(runs):
        out = subprocess.run([sys.executable, __file__, "--child", case, "--scope", scope, "--db", str(db)],
                             check=True, capture_output=True, text=True).stdout
        results.append(json.loads(out.strip().splitlines()[-1]))
    best = min(results, key=lambda r: r["s"])
    return {**best, "peak_mb": max(r["peak_mb"] for r in results)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--sites", type=int, default=200)
    parser.add_argument("--db", type=Path, default=Path("/tmp/ressenti-bench/reports.db"))
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--child", choices=["baseline", "figures", "pdf"])
    parser.add_argument("--scope")
    args = parser.parse_args()
    if args.child:
        # imports are part of every case, the baseline included
        import weasyprint  # noqa: F401

        import collector.reports_pdf.render  # noqa: F401
        child(str(args.db), args.child, args.scope)
        return
    ensure_db(args.db, args.events, args.sites)
    rows = []
    for label, scope in (("1 site", "site:site-000"), (f"organisation, {args.sites} sites", f"org:{ORG}")):
        for case, what in (("baseline", "imports + database, nothing rendered"),
                           ("figures", "dashboard figures only (build_report)"),
                           ("pdf", "monthly PDF report (figures + HTML + WeasyPrint)")):
            r = measure(args.db, case, scope, args.runs)
            rows.append((label, what, f"{r['s']:.2f}", f"{r['figures_s']:.2f}" if case == "pdf" else "",
                         f"{r['peak_mb']:.0f}", r["pages"] or ""))
    print(f"month: {last_month():%Y-%m}, best of {args.runs} runs (time), highest peak RSS of the runs")
    print(table(rows, ("scope", "case", "seconds", "of which figures", "peak RSS MB", "pages")))


if __name__ == "__main__":
    main()
