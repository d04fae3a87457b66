from __future__ import annotations

import subprocess
import sys

import wsi2rek


def test_public_names_resolve() -> None:
    for name in wsi2rek.__all__:
        assert getattr(wsi2rek, name) is not None, name


def test_import_has_no_boto3_and_no_side_effects() -> None:
    code = (
        "import logging, sys, PIL.Image\n"
        "before = PIL.Image.MAX_IMAGE_PIXELS\n"
        "import wsi2rek, wsi2rek.cli\n"
        "assert 'boto3' not in sys.modules, 'wsi2rek imported boto3'\n"
        "assert PIL.Image.MAX_IMAGE_PIXELS == before, 'MAX_IMAGE_PIXELS changed'\n"
        "assert not logging.getLogger().handlers, 'root logger configured'\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr


def test_cli_version_and_help() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "wsi2rek", "--version"], capture_output=True, text=True, check=False
    )
    assert proc.stdout.strip() == f"wsi2rek {wsi2rek.__version__}"
    proc = subprocess.run(
        [sys.executable, "-m", "wsi2rek", "--help"], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0
    for command in ("info", "demo", "build", "validate", "detect-slide"):
        assert command in proc.stdout


def test_every_public_name_is_importable_lazily_and_listed() -> None:
    code = (
        "import sys, wsi2rek\n"
        "assert 'wsi2rek.inference' not in sys.modules, 'imports are not lazy'\n"
        "from wsi2rek import detect_slide, Box\n"
        "assert 'wsi2rek.inference' in sys.modules\n"
        "assert set(dir(wsi2rek)) >= set(wsi2rek.__all__)\n"
        "try:\n"
        "    wsi2rek.no_such_name\n"
        "except AttributeError as exc:\n"
        "    assert 'no_such_name' in str(exc)\n"
        "else:\n"
        "    raise SystemExit('no AttributeError')\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
