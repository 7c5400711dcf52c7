"""The generated tables of docs/: configuration (from Settings) and errors (from the error table).

`python -m otpservice.docs_tables` rewrites them in docs/configuration.md and docs/errors.md,
between their BEGIN and END markers; `--check` only says which differ (exit 1).
tests/docs/test_generated_docs.py fails when the committed files differ from what this makes.
"""

import argparse
import sys
import types
import typing
from pathlib import Path
from typing import Any, Literal

import annotated_types
from pydantic import SecretStr
from pydantic.fields import FieldInfo

from otpservice.api.errors import status_of
from otpservice.api.openapi import error_classes
from otpservice.errors import OTPServiceError
from otpservice.settings import Settings

DOCS = Path(__file__).resolve().parent.parent / "docs"
BEGIN = "<!-- BEGIN GENERATED {name}: python -m otpservice.docs_tables -->"
END = "<!-- END GENERATED {name} -->"
UNSET = "–"


def cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def env_name(name: str, field: FieldInfo) -> str:
    alias = field.validation_alias
    return (alias if isinstance(alias, str) else name).upper()


def _parts(annotation: Any) -> list[Any]:
    """`A | None` -> [A, None]; Annotated[...] -> its type; anything else -> [it]."""
    if typing.get_origin(annotation) is typing.Annotated:
        return _parts(typing.get_args(annotation)[0])
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return [part for arg in typing.get_args(annotation) for part in _parts(arg)]
    return [annotation]


def is_secret(field: FieldInfo) -> bool:
    for part in _parts(field.annotation):
        if part is SecretStr or SecretStr in [p for arg in typing.get_args(part) for p in _parts(arg)]:
            return True
    return False


def default_of(field: FieldInfo) -> str:
    if field.default_factory is not None:
        return UNSET
    value = field.default
    if value is None or value == [] or value == "":
        return UNSET
    if is_secret(field):
        return "(secret)"  # never a value, whatever it is
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return f"`{value}`"


_BOUNDS = ((">=", annotated_types.Ge, "ge"), (">", annotated_types.Gt, "gt"), ("<=", annotated_types.Le, "le"))


def _bounds(field: FieldInfo) -> str:
    limits = {
        sign: getattr(item, attr) for item in field.metadata for sign, kind, attr in _BOUNDS if isinstance(item, kind)
    }
    if ">=" in limits and "<=" in limits:
        return f"{limits['>=']}..{limits['<=']}"
    return ", ".join(f"{sign} {limit}" for sign, limit in limits.items())


def values_of(field: FieldInfo) -> str:
    """What a value may be, read off the field's type and constraints."""
    kinds = [part for part in _parts(field.annotation) if part is not type(None)]
    kind = kinds[0] if len(kinds) == 1 else None
    if typing.get_origin(kind) is Literal:
        return " \\| ".join(f"`{choice}`" for choice in typing.get_args(kind))
    if kind is bool:
        return "`true` \\| `false`"
    if typing.get_origin(kind) is list:
        return "comma-separated list"
    if kind is SecretStr:
        return "secret"
    bounds = _bounds(field)
    names: dict[Any, str] = {int: "integer", float: "number", str: "text"}
    name = names.get(kind, str(kind))
    return f"{name} {bounds}".strip()


def configuration_table(model: type[Settings] = Settings) -> str:
    rows = ["| variable | default | values | what it does |", "|---|---|---|---|"]
    for name, field in model.model_fields.items():
        description = cell(field.description or "")
        rows.append(f"| `{env_name(name, field)}` | {default_of(field)} | {values_of(field)} | {description} |")
    return "\n".join(rows)


def when_of(cls: type[OTPServiceError]) -> str:
    """The first paragraph of the class's own docstring, else its default message."""
    doc = cls.__dict__.get("__doc__")
    return cell(doc.split("\n\n")[0]) if doc else cell(cls.default_message)


def error_table() -> str:
    grouped: dict[tuple[int, str], list[str]] = {}
    for cls in error_classes():
        whens = grouped.setdefault((status_of(cls), cls.code), [])
        if when_of(cls) not in whens:
            whens.append(when_of(cls))
    rows = ["| status | `code` | when |", "|---|---|---|"]
    for (status, code), whens in sorted(grouped.items()):
        rows.append(f"| {status} | `{code}` | {' '.join(whens)} |")
    return "\n".join(rows)


TABLES = {"configuration.md": ("CONFIGURATION TABLE", configuration_table), "errors.md": ("ERROR TABLE", error_table)}


def render(text: str, name: str, table: str) -> str:
    """`text` with what lies between the named markers replaced by `table`."""
    begin, end = BEGIN.format(name=name), END.format(name=name)
    if begin not in text or end not in text:
        raise ValueError(f"markers {begin!r} and {end!r} not found")
    head, rest = text.split(begin, 1)
    _, tail = rest.split(end, 1)
    return f"{head}{begin}\n{table}\n{end}{tail}"


def generated(docs: Path = DOCS) -> dict[Path, str]:
    """Each generated file as it should read now."""
    return {docs / file: render((docs / file).read_text(), name, make()) for file, (name, make) in TABLES.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m otpservice.docs_tables", description=__doc__)
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 when a file differs")
    parser.add_argument("--docs", type=Path, default=DOCS, help="the docs folder (default: the checkout's)")
    args = parser.parse_args(argv)
    stale = [path for path, text in generated(args.docs).items() if path.read_text() != text]
    for path in stale:
        if args.check:
            print(f"{path}: differs from its generated tables", file=sys.stderr)
        else:
            path.write_text(generated(args.docs)[path])
            print(f"{path}: written")
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    raise SystemExit(main())
