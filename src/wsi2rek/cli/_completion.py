"""``wsi2rek completion bash|zsh|fish``: a shell completion script, generated from the parser.

The script is written from the same argparse parser that parses the command line, so it
completes exactly the subcommands, flags and flag choices that exist; it never goes stale.
Values without a fixed set of choices fall back to the shell's file name completion.
"""

from __future__ import annotations

import argparse
import shlex
from typing import Any

import attrs

__all__ = ["register", "script"]

SHELLS = ("bash", "zsh", "fish")


@attrs.frozen
class _Option:
    flags: tuple[str, ...]
    takes_value: bool
    choices: tuple[str, ...]
    help: str


@attrs.frozen
class _Command:
    name: str
    help: str
    options: tuple[_Option, ...]
    positional_choices: tuple[str, ...]


def register(subparsers: Any) -> None:
    """Add the ``completion`` subcommand."""
    p = subparsers.add_parser(
        "completion",
        help="print a shell completion script (bash, zsh or fish)",
        description="Print a script that completes wsi2rek's subcommands, flags and flag "
        "values in your shell. Load it for the current shell, or install it for good: "
        "bash: source <(wsi2rek completion bash), or save it as "
        "~/.local/share/bash-completion/completions/wsi2rek; zsh: "
        "source <(wsi2rek completion zsh) in ~/.zshrc; fish: wsi2rek completion fish > "
        "~/.config/fish/completions/wsi2rek.fish.",
    )
    p.add_argument("shell", choices=SHELLS, help="the shell to complete in")
    p.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    from wsi2rek.cli import build_parser  # noqa: PLC0415  (the package imports this module)

    print(script(build_parser(), args.shell), end="")
    return 0


def _help(action: argparse.Action | argparse.ArgumentParser) -> str:
    text = action.description if isinstance(action, argparse.ArgumentParser) else action.help
    if not text or text == argparse.SUPPRESS:
        return ""
    return " ".join(text.split())


def _options(parser: argparse.ArgumentParser) -> tuple[_Option, ...]:
    # argparse has no public accessor for a parser's actions.
    return tuple(
        _Option(
            flags=tuple(action.option_strings),
            takes_value=action.nargs != 0,
            choices=tuple(str(c) for c in action.choices or ()),
            help=_help(action),
        )
        for action in parser._actions
        if action.option_strings and action.help != argparse.SUPPRESS
    )


def _positional_choices(parser: argparse.ArgumentParser) -> tuple[str, ...]:
    return tuple(
        str(choice)
        for action in parser._actions
        if not action.option_strings and action.choices is not None
        for choice in action.choices
    )


def _commands(parser: argparse.ArgumentParser) -> tuple[_Command, ...]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):  # the subcommands
            # the one-line help of each subcommand, as `wsi2rek --help` lists it
            helps = {c.dest: c.help or "" for c in action._get_subactions()}
            return tuple(
                _Command(
                    name,
                    " ".join(helps.get(name, "").split()),
                    _options(sub),
                    _positional_choices(sub),
                )
                for name, sub in action.choices.items()
            )
    return ()


def script(parser: argparse.ArgumentParser, shell: str) -> str:
    """The completion script for ``shell`` ("bash", "zsh" or "fish") of ``parser``."""
    commands = _commands(parser)
    top = _options(parser)
    if shell == "fish":
        return _fish(parser.prog, commands)
    text = _bash(parser.prog, top, commands)
    if shell == "zsh":  # zsh runs bash completion functions through bashcompinit
        return _ZSH_PRELUDE + text
    return text


_ZSH_PRELUDE = """\
(( $+functions[compdef] )) || { autoload -U +X compinit && compinit; }
autoload -U +X bashcompinit && bashcompinit
"""


def _words(items: list[str] | tuple[str, ...]) -> str:
    return shlex.quote(" ".join(items))


def _bash(prog: str, top: tuple[_Option, ...], commands: tuple[_Command, ...]) -> str:
    func = "_" + prog.replace("-", "_")
    names = [c.name for c in commands] + [f for o in top for f in o.flags]
    flag_cases: list[str] = []
    value_cases: list[str] = []
    for command in commands:
        flags = [f for o in command.options for f in o.flags]
        positional = _words(command.positional_choices)
        flag_cases.append(f"        {command.name}) opts={_words(flags)}; words={positional} ;;")
        free: list[str] = []  # flags taking a value without fixed choices
        for option in command.options:
            pattern = "|".join(f"'{command.name} {f}'" for f in option.flags)
            if option.choices:
                value_cases.append(f"        {pattern}) words={_words(option.choices)} ;;")
            elif option.takes_value:
                free.append(pattern)
        if free:  # their value completes as a file name (complete -o default)
            value_cases.append(f"        {'|'.join(free)}) return 0 ;;")
    return "\n".join(
        [
            f"# {prog} completion for bash; generated by `{prog} completion bash`.",
            "# Flag values without fixed choices complete as file names (complete -o default).",
            f"{func}() {{",
            '    local cur="${COMP_WORDS[COMP_CWORD]}" prev="${COMP_WORDS[COMP_CWORD-1]}"',
            "    local opts words",
            "    COMPREPLY=()",
            "    if [[ $COMP_CWORD -eq 1 ]]; then",
            f'        COMPREPLY=($(compgen -W {_words(names)} -- "$cur"))',
            "        return 0",
            "    fi",
            '    local command="${COMP_WORDS[1]}"',
            '    case "$command $prev" in',
            *value_cases,
            "    esac",
            "    if [[ -n $words ]]; then",
            '        COMPREPLY=($(compgen -W "$words" -- "$cur"))',
            "        return 0",
            "    fi",
            '    case "$command" in',
            *flag_cases,
            "        *) return 0 ;;",
            "    esac",
            "    if [[ $cur == -* ]]; then",
            '        COMPREPLY=($(compgen -W "$opts" -- "$cur"))',
            "    elif [[ -n $words ]]; then",
            '        COMPREPLY=($(compgen -W "$words" -- "$cur"))',
            "    fi",
            "    return 0",
            "}",
            f"complete -o default -F {func} {prog}",
            "",
        ]
    )


def _fish_text(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _fish(prog: str, commands: tuple[_Command, ...]) -> str:
    lines = [
        f"# {prog} completion for fish; generated by `{prog} completion fish`.",
        f"complete -c {prog} -f",
    ]
    lines.extend(
        f"complete -c {prog} -n __fish_use_subcommand -a {c.name} -d {_fish_text(c.help)}"
        for c in commands
    )
    for command in commands:
        condition = f"'__fish_seen_subcommand_from {command.name}'"
        for option in command.options:
            parts = [f"complete -c {prog} -n {condition}"]
            for flag in option.flags:
                if flag.startswith("--"):
                    parts.append(f"-l {flag[2:]}")
                elif len(flag) == 2:
                    parts.append(f"-s {flag[1]}")
                else:
                    parts.append(f"-o {flag[1:]}")
            if option.choices:
                parts.append(f"-x -a {_fish_text(' '.join(option.choices))}")
            elif option.takes_value:
                parts.append("-r -F")
            if option.help:
                parts.append(f"-d {_fish_text(option.help)}")
            lines.append(" ".join(parts))
        if command.positional_choices:
            choices = _fish_text(" ".join(command.positional_choices))
            lines.append(f"complete -c {prog} -n {condition} -a {choices}")
        # other positional arguments are files or folders
        lines.append(f"complete -c {prog} -n {condition} -F")
    return "\n".join(lines) + "\n"
