"""Suite-wide settings.

Under CI (``CI=true``) hypothesis runs derandomized: the same examples every run, so a
red build always means a change broke something; locally it explores new examples each
run, which is where fuzzing finds new bugs (they then become regression tests).
"""

from __future__ import annotations

import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
settings.register_profile("dev", deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else "dev")
