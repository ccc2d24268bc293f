"""Benchmark: the area briefs (lägesbilder) of all 11 stadsdelsområden as PDF.

    .venv/bin/python bench/briefs.py [--period 2025-T2] [--data-dir DIR] [--keep DIR]
    ./dev.sh bench briefs

Without ``--data-dir`` the deterministic demo data set is loaded into a temporary
store first (not timed). Then, timed: reading what the briefs need from the store
once (:func:`layers.documents.brief.load_city_data`), and for each of the 11 current
stadsdelsområden building the brief (figures and the priority ranking), drawing the
map and charts, and printing the PDF with WeasyPrint. Prints the time per district
and phase, the total, and whether it is under the target of 60 s for all 11 on this
machine; also the load average, since other work on the machine slows every phase.
No assertions: a benchmark, not a test.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from layers.documents.brief import build_brief, load_city_data  # noqa: E402
from layers.documents.brief_render import draw_pictures, file_name, render  # noqa: E402
from layers.store import Store, open_store  # noqa: E402

TARGET_SECONDS = 60.0


def _demo_store(folder: Path) -> Store:
    from layers.io.demo_load import load_demo

    store = open_store(folder)
    store.initialize()
    load_demo(store)
    return store


def _pages(path: Path) -> int:
    """Number of pages by pdfinfo (poppler-utils), 0 without it."""
    tool = shutil.which("pdfinfo")
    if tool is None:
        return 0
    info = subprocess.run([tool, str(path)], capture_output=True, text=True).stdout
    match = re.search(r"Pages:\s+(\d+)", info)
    return int(match.group(1)) if match else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--period", default="2025-T2", help="tertial (default 2025-T2)")
    parser.add_argument("--data-dir", default=None,
                        help="an existing store: a folder or a postgresql:// URL (default: demo)")
    parser.add_argument("--keep", default=None, help="folder to keep the PDFs in")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="bench-briefs-") as tmp:
        tmp = Path(tmp)
        if args.data_dir:
            store = open_store(args.data_dir)
        else:
            t = time.perf_counter()
            store = _demo_store(tmp / "store")
            print(f"demodata inläst på {time.perf_counter() - t:.1f} s (ingår inte i tiden)")
        out = Path(args.keep) if args.keep else tmp / "pdf"
        out.mkdir(parents=True, exist_ok=True)

        start, cpu_start = time.perf_counter(), time.process_time()
        data = load_city_data(store, args.period)
        load_s = time.perf_counter() - start
        print(f"\nLägesbilder {args.period} som PDF, {len(data.current_areas)} "
              "stadsdelsområden")
        print(f"{'stadsdelsområde':<22}{'data':>8}{'bilder':>8}{'PDF':>8}{'totalt':>8}"
              f"{'sidor':>7}{'kB':>7}")
        phases = {"brief": 0.0, "pictures": 0.0, "pdf": 0.0}
        for area in data.current_areas:
            t0 = time.perf_counter()
            brief = build_brief(store, area.code, args.period, data=data)
            t1 = time.perf_counter()
            pictures = draw_pictures(brief)
            t2 = time.perf_counter()
            pdf = render(brief, "pdf", pictures=pictures)
            t3 = time.perf_counter()
            (out / file_name(brief, "pdf")).write_bytes(pdf)
            phases["brief"] += t1 - t0
            phases["pictures"] += t2 - t1
            phases["pdf"] += t3 - t2
            pages = _pages(out / file_name(brief, "pdf"))
            print(f"{area.name:<22}{t1 - t0:>7.2f}s{t2 - t1:>7.2f}s{t3 - t2:>7.2f}s"
                  f"{t3 - t0:>7.2f}s{pages:>7d}{len(pdf) / 1024:>7.0f}")
        total = time.perf_counter() - start
        cpu = time.process_time() - cpu_start
        store.close()

    print(f"\ninläsning av data (en gång): {load_s:.2f} s")
    print("per fas, summa: " + ", ".join(f"{k} {v:.1f} s" for k, v in phases.items()))
    verdict = "under" if total < TARGET_SECONDS else "ÖVER"
    print(f"totalt för alla {len(data.current_areas)} PDF: {total:.1f} s "
          f"({verdict} målet {TARGET_SECONDS:.0f} s); processortid {cpu:.1f} s")
    if hasattr(os, "getloadavg"):
        print("belastning (load average 1/5/15 min): "
              + " ".join(f"{x:.2f}" for x in os.getloadavg()) + f" på {os.cpu_count()} kärnor")
    if args.keep:
        print(f"PDF:erna finns i {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
