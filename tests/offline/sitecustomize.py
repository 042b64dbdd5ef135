"""Installed into every process the tests start (via PYTHONPATH): refuse non-loopback connections."""

import os

if os.environ.get("WORKBENCH_OFFLINE_GUARD"):
    import sys

    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    from offline_guard import install

    install(log_path=os.environ.get("WORKBENCH_OFFLINE_LOG"))
