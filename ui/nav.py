"""The dashboard's pages, in menu order. ``app.py`` builds ``st.navigation`` from :data:`PAGES`.

To add a page: create ``pages/<n>_<Name>.py`` (thin: widgets + hiermod calls + ``ui`` helpers),
then add one ``PageEntry`` line below in the right section. Entries whose file does not exist
yet are skipped, so a line may land before its file. Results pages use section ``"Results"``;
the Fit page links to every page of that section once a fit is done.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class PageEntry:
    path: str  # relative to the repository root (where app.py lives)
    title: str
    icon: str
    section: str = "Build"

    @property
    def exists(self) -> bool:
        return (ROOT / self.path).is_file()


PAGES: list[PageEntry] = [
    PageEntry("pages/1_Data.py", "Data", ":material/table_chart:"),
    PageEntry("pages/2_Model.py", "Model", ":material/account_tree:"),
    PageEntry("pages/3_Fit.py", "Fit", ":material/play_circle:"),
    PageEntry("pages/4_Shrinkage.py", "Shrinkage", ":material/compress:", "Results"),
    PageEntry("pages/5_Funnel_and_diagnostics.py", "Funnel and diagnostics", ":material/troubleshoot:",
              "Results"),
    PageEntry("pages/6_Checks_and_comparison.py", "Checks and comparison", ":material/compare:", "Results"),
    PageEntry("pages/9_Variants.py", "Model variants", ":material/stacks:", "Results"),
    PageEntry("pages/8_Sensitivity.py", "Prior sensitivity", ":material/tune:", "Results"),
    PageEntry("pages/7_Learn.py", "Learn", ":material/school:", "Results"),
]


def available_pages() -> list[PageEntry]:
    return [p for p in PAGES if p.exists]


def results_pages() -> list[PageEntry]:
    return [p for p in available_pages() if p.section == "Results"]
