"""Which upstream-vectors-like set the reference and export tests read.

``COSYVOICE_VECTORS_DIR`` names a directory in the layout of ``shared/data/upstream-vectors`` (``config.json`` +
``*.pt`` + ``*.npz``); unset, the upstream set itself. ``python -m tools.fixtures.vectors_like`` writes a second set
with other dimensions and seeds, so the same tests show they take every size and id from the data.
"""

from __future__ import annotations

import os
from pathlib import Path

UPSTREAM_VECTORS = Path(__file__).resolve().parents[3] / "shared" / "data" / "upstream-vectors"
VECTORS = Path(os.environ.get("COSYVOICE_VECTORS_DIR") or UPSTREAM_VECTORS).resolve()
