"""One run of an ``armsledger`` command: its arguments, settings and output.

The command modules (``nodes.cli.record``, ``nodes.cli.query``, ...) receive an
``Invocation`` and use it to open the node, to turn shared options (marking,
``--weapon``, ``--date``, ``--by``) into domain values, and to print either
human text or, with ``--json``, one JSON document on stdout.

Shared options are defined here once, so every command spells them the same
way and refusals name the option the user typed (``--date``, not ``occurred_on``).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO, TypeAlias
from uuid import UUID

from domain.authority import AuthorityKind
from domain.errors import InvalidField
from domain.marking import Marking
from domain.time import parse_time
from nodes.bootstrap import Node, open_node
from nodes.registry.weapon_ids import weapon_by_prefix
from nodes.settings import Settings
from nodes.values import plain

# What ``add_subparsers`` returns: one command group; argparse names no public type for it.
Commands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"

# Domain errors name the field of the library call; where the CLI option that
# feeds it has another name, this says which option to point the user at.
_OPTION_FOR_FIELD = {
    "occurred_on": "date",
    "authority": "by",
    "to_state": "to",
    "transit_states": "transit",
    "weapons": "weapon",
}


# --- shared options ---------------------------------------------------------------------

def add_json_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print one JSON document on stdout")


def add_command(subparsers: Commands, name: str, handler: Callable[[Invocation], int], help: str,
                description: str | None = None) -> argparse.ArgumentParser:
    """A subcommand whose run calls ``handler(invocation) -> exit code``."""
    parser = subparsers.add_parser(name, help=help, description=description or help)
    parser.set_defaults(handler=handler, command_parser=parser)
    return parser


def number_option(low: float, high: float, *, whole: bool = True, unit: str = "") -> Callable[[str], Any]:
    """The ``type=`` of a numeric option: a finite number from ``low`` to ``high``, else a usage error.

    argparse turns the ``ArgumentTypeError`` into exit 2 naming the option; ``nan``, ``inf``,
    ``1e309`` and values past the range are refused before anything is opened or written.
    """
    kind = "a whole number" if whole else "a number"
    allowed = f"must be {kind}{' of ' + unit if unit else ''} from {low:g} to {high:g}"

    def parse(text: str) -> int | float:
        try:
            value: int | float = int(text, 10) if whole else float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r}: {allowed}") from None
        if not math.isfinite(value) or not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{text!r}: {allowed}")
        return value

    return parse


def add_marking_options(parser: argparse.ArgumentParser, *, obliterated: bool = False,
                        required: bool = False, title: str = "marking (instead of --weapon)") -> None:
    """``--manufacturer --country --serial``: the marking as read off the weapon (ITI para 8(a))."""
    group = parser.add_argument_group(title)
    group.add_argument("--manufacturer", required=required, help="manufacturer as marked on the weapon")
    group.add_argument("--country", required=required, help="country of manufacture (ISO 3166-1 alpha-2)")
    serial_help = "serial number"
    if obliterated:
        serial_help += "; write ? for each obliterated character (the weapon then gets a random id)"
    group.add_argument("--serial", required=required, help=serial_help)


def add_weapon_options(parser: argparse.ArgumentParser, *, many: bool = False, obliterated: bool = False) -> None:
    """``--weapon ID`` (repeatable when ``many``) or the three marking options."""
    if many:
        parser.add_argument("--weapon", action="append", default=[], metavar="ID",
                            help="weapon id (repeat for a shipment of several weapons)")
    else:
        parser.add_argument("--weapon", metavar="ID", help="weapon id")
    add_marking_options(parser, obliterated=obliterated)


def add_record_options(parser: argparse.ArgumentParser, default_authority: AuthorityKind) -> None:
    """``--date`` (business date) and ``--by`` (recording authority kind), plus ``--json``."""
    parser.add_argument("--date", help="business date, YYYY-MM-DD or ISO 8601 date-time in UTC (default: now)")
    parser.add_argument("--by", default=default_authority.value, choices=[k.value for k in AuthorityKind],
                        help=f"kind of authority recording it (default: {default_authority.value})")
    add_json_option(parser)


# --- the invocation ---------------------------------------------------------------------

@dataclass
class Invocation:
    """Parsed arguments, settings and output streams of one command run."""

    args: argparse.Namespace
    environ: Mapping[str, str]
    out: TextIO = field(default_factory=lambda: sys.stdout)
    err: TextIO = field(default_factory=lambda: sys.stderr)

    @property
    def settings(self) -> Settings:
        return Settings.load(self.environ, home=self.args.home, db=self.args.db,
                             kafka=getattr(self.args, "kafka", None))

    def open_node(self, *, unlock: bool) -> Node:
        """The node at ``--home``; ``unlock`` (for signing commands) needs ARMSLEDGER_PASSPHRASE."""
        node = open_node(self.settings, unlock=unlock)
        if unlock:
            self.warn_of_old_key_files(node.settings.home)
        return node

    def warn_of_old_key_files(self, home: Path) -> None:
        """Tell the operator, on stderr, when the node's key files still need ``key reseal``."""
        from nodes.registry.identity import old_format_warning

        warning = old_format_warning(home)
        if warning:
            self.warn(warning)

    # --- output ---

    @property
    def wants_json(self) -> bool:
        return bool(getattr(self.args, "json", False))

    def emit(self, data: Any, human: str | None = None) -> None:
        """Print ``data`` as JSON with ``--json``, else ``human`` (default: ``data`` as text)."""
        if self.wants_json:
            self.out.write(json.dumps(data, default=plain, ensure_ascii=False, indent=2) + "\n")
        else:
            self.out.write((human if human is not None else str(data)) + "\n")

    def say(self, text: str) -> None:
        """A line of human text on stdout (nothing with ``--json``)."""
        if not self.wants_json:
            self.out.write(text + "\n")

    def warn(self, text: str) -> None:
        self.err.write(text + "\n")

    def option_for(self, field_name: str | None) -> str | None:
        """The command's option (``--date``) that feeds library field ``field_name`` (``occurred_on``)."""
        if not field_name:
            return None
        parser: argparse.ArgumentParser | None = getattr(self.args, "command_parser", None)
        if parser is None:
            return None
        wanted = {field_name, _OPTION_FOR_FIELD.get(field_name, field_name)}
        for action in parser._actions:  # argparse offers no public accessor
            if action.dest in wanted and action.option_strings:
                return max(action.option_strings, key=len)
            if action.dest in wanted and not action.option_strings:
                return str(action.metavar or action.dest.upper())
        return None

    # --- shared options as domain values ---

    def occurred_on(self) -> int | None:
        """``--date`` as epoch seconds, or None for "now"."""
        text = getattr(self.args, "date", None)
        return None if text is None else parse_time(text, field="date")

    def marking(self) -> Marking | None:
        """The marking from ``--manufacturer --country --serial``, or None if none is given."""
        names = ("manufacturer", "country", "serial")
        given = [getattr(self.args, name, None) for name in names]
        if all(value is None for value in given):
            return None
        for name, value in zip(names, given):
            if value is None:
                raise InvalidField("a marking needs --manufacturer, --country and --serial", field=name)
        manufacturer, country, serial = (str(value) for value in given)
        return Marking.read(manufacturer, country, serial)

    def weapon_id(self, node: Node) -> UUID:
        """The weapon named by ``--weapon ID`` (or the unique start of an id held at ``node``) or by its
        complete marking."""
        ids = self.weapon_ids(node)
        if len(ids) != 1:
            raise InvalidField("name exactly one weapon", field="weapon")
        return ids[0]

    def weapon_ids(self, node: Node) -> list[UUID]:
        """The weapons named by ``--weapon`` (possibly repeated; each an id or the unique start of one held
        at ``node``) or one complete marking."""
        marking = self.marking()
        given = self.args.weapon
        ids = [given] if isinstance(given, str) else list(given or [])
        if marking is not None and ids:
            raise InvalidField("give --weapon or the marking options, not both", field="weapon")
        if marking is not None:
            return [marking.weapon_id()]
        if not ids:
            raise InvalidField("give --weapon ID or --manufacturer, --country and --serial", field="weapon")
        return [weapon_by_prefix(node, text) for text in ids]


# --- files named on the command line --------------------------------------------------------

def read_input(path_text: str, field: str, *, limit: int, what: str) -> bytes:
    """The bytes of the file ``path_text`` (option ``field``); ``InvalidField`` when it cannot be read or
    is over ``limit`` bytes (then it is not ``what``)."""
    path = Path(path_text)
    try:
        if path.stat().st_size > limit:
            raise InvalidField(f"{path} is over {limit} bytes: not {what}", field=field)
        return path.read_bytes()
    except OSError as e:
        raise InvalidField(f"cannot read {path}: {e.strerror or e}", field=field) from None


def output_path(path_text: str, field: str) -> Path:
    """``path_text`` as a file to write, checked before anything is recorded: its folder must exist."""
    path = Path(path_text)
    if path.is_dir() or not path.parent.is_dir():
        raise InvalidField(f"cannot write {path}: {'a folder' if path.is_dir() else 'no such folder'}", field=field)
    return path


def named_weapon(run: Invocation, node: Node) -> UUID:
    """The weapon of a command's positional ``weapon`` (an id or its start) or of its marking options, exactly one."""
    marking = run.marking()
    typed = run.args.weapon
    if (marking is None) == (not typed):
        raise InvalidField("give WEAPON (an id or its start) or --manufacturer, --country and --serial, "
                           "exactly one", field="weapon")
    return marking.weapon_id() if marking is not None else weapon_by_prefix(node, typed)
