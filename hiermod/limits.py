"""The size limits of user data, in one place.

Reading (:mod:`hiermod.reading`) and validation (:mod:`hiermod.validation`) look them up here at
call time, so changing one here (a test's ``monkeypatch``) changes what they refuse;
:mod:`hiermod.data` re-exports them (``hiermod.data.MAX_BYTES``).
"""

MAX_BYTES = 50 * 1024 * 1024  # per file; Streamlit's server.maxUploadSize (MB) matches it
MAX_ROWS = 1_000_000
MAX_GROUPS = 10_000
MAX_COLUMNS = 500
MAX_LABEL_CHARS = 200
MAX_LISTED_ROWS = 5  # offending rows named in one message
MAX_GROUP_LEVELS = 3  # grouping columns (nesting levels) in one data set
MAX_VARIANTS = 8  # model variants fitted side by side (hiermod.variants)
