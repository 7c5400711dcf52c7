"""The house of docs/architecture.md, checked against the imports: no module imports from a
layer above its own (imports inside functions and under TYPE_CHECKING count too), and the
drawing there puts every top-level module and package at its layer of this table."""

import ast
import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "otpservice"
ARCHITECTURE = PACKAGE.parent / "docs" / "architecture.md"

# docs/architecture.md, "Arrows point one way": a higher number may import a lower or equal one, never above.
LAYERS = {
    # what every layer shares, depending on nothing of the service
    "core": 0,
    "clock": 0,
    "errors": 0,
    # the parts the domain is built on; settings.py is a validated value read by the factories
    "providers": 1,
    "limits": 1,
    "db": 1,
    "observability": 1,
    "settings": 1,
    "delivery": 2,
    "fraud": 2,
    "verify": 3,
    "totp": 3,
    "sms": 3,
    "messaging": 3,
    "api": 4,
    "admin": 4,
    # building and running the whole: the only places that know all parts
    "provider_setup": 5,
    "fraud_setup": 5,
    "messaging_setup": 5,
    "wiring": 5,
    "app": 5,
    "preflight": 5,
    "cli": 5,
    "cli_operator": 5,
    "docs_tables": 5,
    "__main__": 5,
    "__init__": 5,
}


def unit_of(module: str) -> str:
    """`otpservice.db.messages` -> `db`; `otpservice.errors` -> `errors`; `otpservice` -> `__init__`."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def imported_units(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module == "otpservice":
                found.update(alias.name for alias in node.names if alias.name in LAYERS)
            elif node.module.startswith("otpservice."):
                found.add(unit_of(node.module))
        elif isinstance(node, ast.ImportFrom) and node.level > 0:
            raise AssertionError(f"{path}: relative import (the house uses absolute ones)")
        elif isinstance(node, ast.Import):
            found.update(unit_of(alias.name) for alias in node.names if alias.name.startswith("otpservice."))
    return found


def upward_imports() -> list[str]:
    problems = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE.parent).with_suffix("")
        unit = unit_of(".".join(relative.parts).removesuffix(".__init__"))
        assert unit in LAYERS, f"{path}: not in the layer table; place it in docs/architecture.md's drawing and here"
        for target in imported_units(path) - {unit}:
            assert target in LAYERS, f"{path} imports otpservice.{target}, which is not in the layer table"
            if LAYERS[target] > LAYERS[unit]:
                problems.append(f"{relative} ({unit}, layer {LAYERS[unit]}) imports {target} (layer {LAYERS[target]})")
    return problems


def test_no_import_points_up() -> None:
    assert upward_imports() == []


def test_the_check_sees_an_upward_import(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("def later():\n    from otpservice.api.errors import status_of\n")
    assert imported_units(bad) == {"api"}
    bad.write_text("from otpservice import wiring\nimport otpservice.verify.service\n")
    assert imported_units(bad) == {"wiring", "verify"}


def drawn_layers(drawing: str) -> dict[str, int]:
    """Unit -> layer as the drawing shows it: each `->` line goes one layer down. Only a line's
    first column (names, up to two spaces) counts; a continued description is skipped."""
    top = max(LAYERS.values())
    level, found = top + 1, {}
    for line in drawing.splitlines():
        names = re.split(r"\s{2,}", line.strip())[0]
        if names.startswith("->") or level > top:
            level -= 1
        tokens = [token.strip() for token in names.removeprefix("->").split(",") if token.strip()]
        if tokens and all(re.fullmatch(r"\w+(/|\.py)?", token) for token in tokens):
            found.update({token.removesuffix("/").removesuffix(".py"): level for token in tokens})
    return found


def architecture_drawing() -> str:
    layers_part = ARCHITECTURE.read_text().split("Arrows point one way", 1)[1]
    match = re.search(r"```\n(.*?)```", layers_part, re.DOTALL)
    assert match, "docs/architecture.md: no drawing after 'Arrows point one way'"
    return match.group(1)


def test_the_drawing_puts_every_unit_at_its_layer() -> None:
    drawn = drawn_layers(architecture_drawing())
    expected = {unit: layer for unit, layer in LAYERS.items() if unit not in ("__init__", "__main__")}
    assert drawn == expected


def test_the_drawing_check_sees_a_misplaced_unit() -> None:
    drawing = architecture_drawing()
    assert drawn_layers(drawing)["db"] == LAYERS["db"]
    moved = drawing.replace("-> providers/, limits/, db/,", "-> providers/, limits/,").replace(
        "-> api/, admin/", "-> api/, admin/, db/"
    )
    assert drawn_layers(moved)["db"] == LAYERS["api"]


def test_the_breaker_declares_the_store_it_needs_and_reads_no_settings() -> None:
    """fraud/ports.py declares the store; db/fraud.py satisfies it unimported; wiring reads Settings."""
    for path in sorted((PACKAGE / "fraud").glob("*.py")):
        assert not imported_units(path) & {"db", "settings"}, path


def test_no_domain_package_but_verify_reads_settings() -> None:
    """Settings are read in wiring and handed down as small typed configs (verify/ follows, SPEC 23)."""
    for package in ("fraud", "messaging", "totp", "sms", "delivery", "limits", "providers"):
        for path in sorted((PACKAGE / package).glob("*.py")):
            assert "settings" not in imported_units(path), path
