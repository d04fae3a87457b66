"""``wsi2rek completion bash|zsh|fish`` prints a script that completes in the real shell.

Issue 13 ("no shell completion"). The script comes from ``wsi2rek completion`` run as a
subprocess and is sourced into a real shell, which is then asked to complete the way it
does on Tab: bash's programmable completion calls the registered function with
``COMP_WORDS``/``COMP_CWORD`` set and reads ``COMPREPLY`` (bash manual, "Programmable
Completion"); fish answers ``complete -C 'LINE'``.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from wsi2rek.cli import build_parser


def completion_script(shell: str, tmp_path: Path) -> Path:
    done = subprocess.run(
        [sys.executable, "-m", "wsi2rek", "completion", shell],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert done.stderr == ""
    path = tmp_path / f"wsi2rek.{shell}"
    path.write_text(done.stdout)
    return path


@pytest.fixture(scope="module")
def bash_script(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return completion_script("bash", tmp_path_factory.mktemp("bash"))


def bash_complete(script: Path, *words: str) -> list[str]:
    """What bash offers for the command line ``words`` (the last word is being typed)."""
    program = f"""
source {script}
spec=$(complete -p wsi2rek)                  # the function bash calls on Tab
function=${{spec##*-F }}; function=${{function%% *}}
COMP_WORDS=({" ".join(f"'{w}'" for w in words)})
COMP_CWORD={len(words) - 1}
"$function"
printf '%s\\n' "${{COMPREPLY[@]}}"
"""
    bash = shutil.which("bash")
    assert bash is not None
    done = subprocess.run(
        [bash, "--norc", "--noprofile", "-c", program],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    assert done.stderr == ""
    return [line for line in done.stdout.splitlines() if line]


def test_bash_completes_subcommands(bash_script: Path) -> None:
    assert bash_complete(bash_script, "wsi2rek", "bu") == ["build"]
    assert bash_complete(bash_script, "wsi2rek", "detect") == [
        "detect-slide",
        "detect",
    ]


def test_bash_offers_every_subcommand_of_the_parser(bash_script: Path) -> None:
    offered = set(bash_complete(bash_script, "wsi2rek", ""))
    commands = {"info", "build", "validate", "preview", "export", "upload", "train", "app"}
    assert commands <= offered
    (sub,) = (a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    assert set(sub.choices) <= offered


def test_bash_completes_the_flags_of_the_subcommand(bash_script: Path) -> None:
    assert bash_complete(bash_script, "wsi2rek", "build", "--test-") == [
        "--test-slides",
        "--test-fraction",
    ]
    assert bash_complete(bash_script, "wsi2rek", "build", "--out", "ds", "--sched") == [
        "--scheduler",
        "--scheduler-timeout",
    ]
    # another subcommand's flag is not offered
    assert bash_complete(bash_script, "wsi2rek", "info", "--test-") == []


def test_bash_completes_flag_choices(bash_script: Path) -> None:
    assert bash_complete(bash_script, "wsi2rek", "build", "--format", "") == ["png", "jpeg"]
    assert bash_complete(bash_script, "wsi2rek", "detect-slide", "x.svs", "--on-error", "s") == [
        "skip"
    ]
    assert bash_complete(bash_script, "wsi2rek", "completion", "") == ["bash", "zsh", "fish"]


def test_bash_leaves_free_values_to_file_name_completion(bash_script: Path) -> None:
    # nothing from the script: `complete -o default` falls back to file names
    assert bash_complete(bash_script, "wsi2rek", "build", "--out", "") == []
    assert (
        "-o default"
        in subprocess.run(
            ["bash", "--norc", "-c", f"source {bash_script}; complete -p wsi2rek"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )


@pytest.mark.skipif(shutil.which("zsh") is None, reason="zsh is not installed")
def test_zsh_loads_the_script_and_registers_the_completion(tmp_path: Path) -> None:
    script = completion_script("zsh", tmp_path)
    zsh = shutil.which("zsh")
    assert zsh is not None
    done = subprocess.run(
        [zsh, "-f", "-c", f"source {script} && print -r -- ${{_comps[wsi2rek]}}"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() != ""  # a completion function is registered for wsi2rek


@pytest.mark.skipif(shutil.which("fish") is None, reason="fish is not installed")
def test_fish_completes_subcommands_flags_and_choices(tmp_path: Path) -> None:
    script = completion_script("fish", tmp_path)

    def fish_complete(line: str) -> list[str]:
        done = subprocess.run(
            ["fish", "--no-config", "-c", f"source {script}; complete -C '{line}'"],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
            env={"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"},
        )
        return [row.split("\t")[0] for row in done.stdout.splitlines()]

    assert fish_complete("wsi2rek bu") == ["build"]
    assert set(fish_complete("wsi2rek build --test-")) == {"--test-slides", "--test-fraction"}
    assert fish_complete("wsi2rek build --format ") == ["jpeg", "png"]
