"""CLI text: one help formatter with defaults, help on every option, AWS flags everywhere."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from pathlib import Path

import pytest

from wsi2rek.cli import HelpFormatter, build_parser, main

ARN = "arn:aws:rekognition:eu-west-1:123456789012:project/mitosis/version/v1/1700000000000"


def subcommands() -> Iterator[tuple[str, argparse.ArgumentParser]]:
    def walk(
        prefix: str, parser: argparse.ArgumentParser
    ) -> Iterator[tuple[str, argparse.ArgumentParser]]:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    yield f"{prefix} {name}".strip(), sub
                    yield from walk(f"{prefix} {name}", sub)

    yield from walk("", build_parser())


def test_every_option_and_argument_of_every_subcommand_has_help() -> None:
    missing = [
        f"wsi2rek {name} {action.option_strings or action.dest}"
        for name, parser in subcommands()
        for action in parser._actions
        if not isinstance(action, (argparse._HelpAction, argparse._SubParsersAction))
        and not action.help
    ]
    assert not missing, missing


def test_every_subcommand_uses_the_one_formatter() -> None:
    assert all(parser.formatter_class is HelpFormatter for _, parser in subcommands())


def test_help_shows_meaningful_defaults_only() -> None:
    parser = dict(subcommands())["build"]
    text = parser.format_help()
    assert "(default: 512)" in text  # --patch-size
    assert "(default: png)" in text  # --format
    assert "(default: None)" not in text
    assert "(default: False)" not in text


def test_train_takes_version_name_and_the_old_spelling_still_works_hidden() -> None:
    parser = build_parser()
    common = ["--project", "p", "--dataset", "s3://b/p/", "--output", "s3://b/o/"]
    new = parser.parse_args(["train", "--version-name", "v1", *common])
    old = parser.parse_args(["train", "--version", "v1", *common])
    assert new.version_name == old.version_name == "v1"
    train_help = dict(subcommands())["train"].format_help()
    assert "--version-name NAME" in train_help
    assert "--version " not in train_help


@pytest.mark.parametrize("command", ["upload", "train", "model", "detect", "detect-slide"])
def test_aws_commands_take_profile_region_and_endpoint(command: str) -> None:
    text = dict(subcommands())[command].format_help()
    for flag in ("--profile", "--region", "--endpoint-url"):
        assert flag in text, f"wsi2rek {command} has no {flag}"


def test_an_unknown_profile_is_one_line_naming_the_flag(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    code = main(["model", "status", ARN, "--profile", "nope"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("wsi2rek model: error: --profile nope: ")
    assert err.count("\n") == 1
