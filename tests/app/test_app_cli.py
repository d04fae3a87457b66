"""``wsi2rek app``: the app shipped in the package, served by the CLI (a real subprocess)."""

from __future__ import annotations

import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from tests.app._server import serve_app
from wsi2rek.app import SCRIPT, streamlit_command

ARN = "arn:aws:rekognition:eu-west-1:123456789012:project/mitosis/version/v1/1700000000000"


def wsi2rek(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "wsi2rek", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_streamlit_script_is_inside_the_installed_package() -> None:
    import wsi2rek

    package = Path(wsi2rek.__file__).resolve().parent
    assert SCRIPT.is_file()
    assert SCRIPT.parent == package / "app"


def test_the_command_carries_the_settings_a_config_file_would() -> None:
    command = streamlit_command(port=9001, address="0.0.0.0", max_upload_mb=7, python="py")
    assert command[:5] == ["py", "-m", "streamlit", "run", str(SCRIPT)]
    assert "--server.port=9001" in command
    assert "--server.address=0.0.0.0" in command
    assert "--server.maxUploadSize=7" in command
    assert "--browser.gatherUsageStats=false" in command
    assert "--server.headless=true" in command


@pytest.mark.slow
def test_wsi2rek_app_answers_its_health_endpoint(tmp_path: Path) -> None:
    slides = tmp_path / "slides"
    slides.mkdir()
    with serve_app(tmp_path, ["--model", ARN, "--slides", str(slides)]) as url:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=5) as response:
            assert response.status == 200
            assert response.read() == b"ok"
        # The page itself is served too (Streamlit's HTML shell).
        with urllib.request.urlopen(url, timeout=5) as response:
            assert b"<html" in response.read().lower()


def test_a_project_arn_is_refused_in_one_line_before_starting(tmp_path: Path) -> None:
    project = "arn:aws:rekognition:eu-west-1:123456789012:project/mitosis/1700000000000"
    result = wsi2rek("app", "--model", project, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1, result.stderr
    assert "project ARN" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_missing_slide_folder_is_refused_naming_the_flag(tmp_path: Path) -> None:
    result = wsi2rek("app", "--slides", str(tmp_path / "nowhere"), cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.startswith("wsi2rek app: error: --slides ")
    assert result.stderr.count("\n") == 1, result.stderr


def test_without_streamlit_the_error_names_the_extra(tmp_path: Path) -> None:
    # A None entry in sys.modules is how Python marks a module as absent: imports raise
    # ImportError and find_spec returns None, as on an install without the 'app' extra.
    script = tmp_path / "no_streamlit.py"
    script.write_text(
        "import sys\n"
        "sys.modules['streamlit'] = None\n"
        "from wsi2rek.cli import main\n"
        "sys.exit(main(['app']))\n"
    )
    result = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 2
    assert "pip install 'wsi2rek[app]'" in result.stderr
    assert result.stderr.count("\n") == 1, result.stderr
