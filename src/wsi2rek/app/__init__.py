"""The wsi2rek detector app (Streamlit), shipped in the package and started by ``wsi2rek app``.

:mod:`wsi2rek.app.logic` holds everything that does not need Streamlit (decoding uploads
with guards, the ARN check, drawing, exports, slide regions); ``streamlit_app.py`` next to
it is the Streamlit script that wires that logic to widgets. Importing this package does not
import Streamlit: only running the script does (the ``app`` extra).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Final

from wsi2rek.app.logic import DEFAULT_MAX_UPLOAD_MB

__all__ = ["SCRIPT", "streamlit_command"]

#: The Streamlit script, as ``streamlit run`` needs it: a file path.
SCRIPT: Final = Path(__file__).resolve().with_name("streamlit_app.py")

#: The app's colour (matches the docs' theme).
_PRIMARY_COLOR: Final = "#0072B2"


def streamlit_command(
    *,
    port: int = 8501,
    address: str = "127.0.0.1",
    max_upload_mb: int = DEFAULT_MAX_UPLOAD_MB,
    python: str = sys.executable,
) -> list[str]:
    """The ``streamlit run`` command line that serves the app.

    The settings a ``.streamlit/config.toml`` would hold are passed as flags, so the app
    behaves the same whatever the working directory: headless, no usage statistics, no
    file watcher (an installed package does not change), the viewer toolbar, and Streamlit's
    upload limit equal to the app's own.

    Args:
        port: TCP port to listen on.
        address: Interface to bind; ``127.0.0.1`` (the default) serves this machine only,
            ``0.0.0.0`` every interface (in a container, behind an authenticating proxy).
        max_upload_mb: Streamlit's upload limit in MB (the app checks it again).
        python: The interpreter that has Streamlit installed.

    Returns:
        The argument list for :func:`subprocess.run`.
    """
    return [
        python,
        "-m",
        "streamlit",
        "run",
        str(SCRIPT),
        "--server.headless=true",
        f"--server.address={address}",
        f"--server.port={port}",
        f"--server.maxUploadSize={max_upload_mb}",
        "--server.fileWatcherType=none",
        "--browser.gatherUsageStats=false",
        "--client.toolbarMode=viewer",
        f"--theme.primaryColor={_PRIMARY_COLOR}",
    ]
