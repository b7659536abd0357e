"""Every error a person meets carries a code: no plain English string reaches the reader.

The test reads the source (AST), so it cannot be fooled by which lines a run happens to reach:

* every construction of a ``SarhadError`` subclass (the class resolved through imports across
  modules, not by its name) must give its message, and its ``hint=``, as a coded ``Text``
  (``message(...)``, ``Text(...)`` or a function annotated ``-> Text``), a ``FieldError.of``
  list for ``InvalidInput``, or re-raise a caught error's own ``Text``;
* every ``ValueError`` raised inside a pydantic validator (decorated, or given to
  ``AfterValidator`` & co.) must carry a ``Text`` too: the API shows a validator's text as the
  field's problem (``core.api``, ``errors.validation_text``), so the decision is that they count;
* every ``FieldError(field, text)`` must give a coded text (or use ``FieldError.of``, typed).

Coded means: ``message(...)``, ``Text(...)``, a call of a function annotated ``-> Text`` (such as
``errors.reason_of``, which raises again what a lower layer raised coded), a ``.text`` /
``.hint_text`` of a caught error, or a name bound to one of these (annotated ``Text``).
Internal invariants that never reach a person are in ``ALLOWED`` (short, each with its reason);
``PENDING`` is the ratchet of what is not coded yet.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path

from typer.testing import CliRunner

from sarhad.border.cli import app as border_app
from sarhad.core import i18n
from sarhad.core.errors import NotFound
from sarhad.core.i18n import message

SRC = Path(__file__).resolve().parents[2] / "src"
ROOT = "sarhad.core.errors.SarhadError"

#: Error classes that never reach a person in their working life, with why.
ALLOWED: dict[str, str] = {
    "sarhad.core.ports.MissingPort": "a wiring mistake of the program, found by its own tests",
}

#: Modules whose errors are not all coded yet, with how many are left: a ratchet (a new
#: uncoded error fails, and so does a count left higher than what remains). Not an allow-list:
#: each of these reaches a person in English today.
PENDING: dict[str, int] = {}

#: Calls that make a coded message.
TEXT_MAKERS = {"message", "Text", "from_json"}
#: Names that always hold a coded message where they are used.
TEXT_ATTRIBUTES = {"text", "hint_text"}


@dataclass
class Module:
    name: str
    tree: ast.Module
    #: local name -> qualified name (classes defined here and names imported)
    names: dict[str, str] = field(default_factory=dict)


def _modules() -> dict[str, Module]:
    found: dict[str, Module] = {}
    for path in sorted((SRC / "sarhad").rglob("*.py")):
        parts = path.relative_to(SRC).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        mod = Module(name, tree)
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    up = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*up, *([base] if base else [])])
                for alias in node.names:
                    mod.names[alias.asname or alias.name] = f"{base}.{alias.name}"
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    mod.names[alias.asname or alias.name.split(".")[0]] = (
                        alias.name if alias.asname else alias.name.split(".")[0]
                    )
        for node in tree.body:
            if isinstance(node, ast.ClassDef | ast.FunctionDef):
                mod.names[node.name] = f"{name}.{node.name}"
        found[name] = mod
    return found


def _qualify(mod: Module, expr: ast.expr) -> str | None:
    """The qualified name of ``Name`` / ``a.b.Name`` as seen from ``mod``."""
    if isinstance(expr, ast.Name):
        return mod.names.get(expr.id, f"{mod.name}.{expr.id}")
    if isinstance(expr, ast.Attribute):
        head = _qualify(mod, expr.value)
        return None if head is None else f"{head}.{expr.attr}"
    return None


def _error_classes(mods: dict[str, Module]) -> set[str]:
    bases: dict[str, set[str]] = {}
    for mod in mods.values():
        for node in ast.walk(mod.tree):
            if isinstance(node, ast.ClassDef):
                own = f"{mod.name}.{node.name}"
                bases[own] = {q for b in node.bases if (q := _qualify(mod, b))}
    found = {ROOT}
    while True:
        more = {c for c, bs in bases.items() if c not in found and bs & found}
        if not more:
            return found
        found |= more


def _text_functions(mods: dict[str, Module]) -> set[str]:
    """Functions (and methods, by name) annotated to return ``Text``."""
    names = set()
    for mod in mods.values():
        for node in ast.walk(mod.tree):
            if (
                isinstance(node, ast.FunctionDef)
                and node.returns is not None
                and _is_text(node.returns)
            ):
                names.add(node.name)
    return names


def _coded(expr: ast.expr | None, texts: set[str], coded_names: set[str]) -> bool:
    if expr is None or (isinstance(expr, ast.Constant) and expr.value is None):
        return True
    if isinstance(expr, ast.IfExp):
        return _coded(expr.body, texts, coded_names) and _coded(expr.orelse, texts, coded_names)
    if isinstance(expr, ast.BoolOp):  # a maybe-message or a message
        return all(_coded(v, texts, coded_names) for v in expr.values)
    if isinstance(expr, ast.Call):
        func = expr.func
        name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
        return name in TEXT_MAKERS or name in texts
    if isinstance(expr, ast.Attribute):
        return expr.attr in TEXT_ATTRIBUTES
    if isinstance(expr, ast.Name):
        return expr.id in coded_names
    return False


def _is_text(annotation: ast.expr) -> bool:
    """``Text`` or ``Text | None`` (a maybe-message: ``raise`` only uses it when it is one)."""
    shown = ast.unparse(annotation).replace(" ", "")
    return shown.split(".")[-1] in {"Text", "Text|None"}


def _annotated_text_names(func: ast.AST, texts: set[str]) -> set[str]:
    """Parameters and variables of ``func`` that hold a coded message: annotated ``Text``, or
    assigned the result of ``message(...)`` or of a function annotated ``-> Text``."""
    names = set()
    for node in ast.walk(func):
        if isinstance(node, ast.arg) and node.annotation is not None and _is_text(node.annotation):
            names.add(node.arg)
        elif (
            isinstance(node, ast.AnnAssign)
            and isinstance(node.target, ast.Name)
            and _is_text(node.annotation)
        ):
            names.add(node.target.id)
        elif (
            isinstance(node, ast.Assign | ast.NamedExpr)
            and isinstance(node.value, ast.Call | ast.BoolOp | ast.IfExp)
            and _coded(node.value, texts, set())
        ):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names |= {t.id for t in targets if isinstance(t, ast.Name)}
    return names


def _validators(tree: ast.Module) -> list[ast.FunctionDef]:
    """Functions decorated as pydantic validators, or given to ``AfterValidator(f)`` & co."""
    given = {
        arg.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and ast.unparse(node.func).split(".")[-1].endswith("Validator")
        for arg in node.args
        if isinstance(arg, ast.Name)
    }
    found = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name in given]
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef):
            for dec in node.decorator_list:
                target = dec.func if isinstance(dec, ast.Call) else dec
                if ast.unparse(target).split(".")[-1] in {
                    "field_validator",
                    "model_validator",
                    "validator",
                    "root_validator",
                }:
                    found.append(node)
    return found


def problems() -> list[str]:
    mods = _modules()
    errors = _error_classes(mods)
    texts = _text_functions(mods)
    found = []
    for mod in mods.values():
        scopes = [n for n in ast.walk(mod.tree) if isinstance(n, ast.FunctionDef)]
        # Module-level names given a coded message (``_EMPTY = message(...)``) hold it anywhere.
        top = _annotated_text_names(
            ast.Module(
                body=[n for n in mod.tree.body if isinstance(n, ast.Assign | ast.AnnAssign)],
                type_ignores=[],
            ),
            texts,
        )
        coded_in: dict[int, set[str]] = {id(n): set(top) for n in ast.walk(mod.tree)}
        for scope in scopes:
            names = _annotated_text_names(scope, texts)
            for node in ast.walk(scope):
                coded_in.setdefault(id(node), set()).update(names)

        def report(node: ast.AST, what: str, mod: Module = mod) -> None:
            text = ast.unparse(node)
            found.append(f"{mod.name}:{node.lineno}: {what}: {text[:100]}")

        for node in ast.walk(mod.tree):
            if not isinstance(node, ast.Call):
                continue
            cls = _qualify(mod, node.func)
            if cls not in errors or cls in ALLOWED:
                continue
            coded = coded_in.get(id(node), set())
            hint = next((k.value for k in node.keywords if k.arg == "hint"), None)
            msg = node.args[0] if node.args else None
            msg = next((k.value for k in node.keywords if k.arg == "message"), msg)
            if cls.endswith(".InvalidInput"):  # its FieldErrors are checked below
                ok = msg is not None and not isinstance(msg, ast.Constant | ast.JoinedStr)
            elif cls.endswith(".FileFormatError"):  # a message, or a list of them
                ok = _coded(msg, texts, coded) or isinstance(msg, ast.Name | ast.Subscript)
            else:
                ok = msg is not None and _coded(msg, texts, coded)
            if not ok:
                report(node, "message without a code")
            if not _coded(hint, texts, coded):
                report(node, "hint without a code")
        for func in _validators(mod.tree):
            for node in ast.walk(func):
                if (
                    isinstance(node, ast.Raise)
                    and isinstance(node.exc, ast.Call)
                    and _qualify(mod, node.exc.func) in {f"{mod.name}.ValueError", "ValueError"}
                ):
                    arg = node.exc.args[0] if node.exc.args else None
                    if not _coded(arg, texts, _annotated_text_names(func, texts)):
                        report(node, "validator's message without a code")
        for node in ast.walk(mod.tree):
            # FieldError(field, "plain text"): the field's problem shown in English to all.
            if isinstance(node, ast.Call) and (_qualify(mod, node.func) or "").endswith(
                "errors.FieldError"
            ):
                arg = node.args[1] if len(node.args) > 1 else None
                text = node.args[2] if len(node.args) > 2 else None
                if not _coded(arg, texts, coded_in.get(id(node), set())) and text is None:
                    report(node, "field problem without a code")
    return found


def test_every_error_a_person_meets_has_a_code():
    found = problems()
    by_module: dict[str, list[str]] = {}
    for line in found:
        by_module.setdefault(line.split(":")[0], []).append(line)
    new = [
        line
        for mod, lines in by_module.items()
        if len(lines) > PENDING.get(mod, 0)
        for line in lines
    ]
    assert not new, "errors without a code (word them with message(...)):\n" + "\n".join(new)
    done = {m: n for m, n in PENDING.items() if len(by_module.get(m, [])) < n}
    assert not done, f"fewer uncoded errors than PENDING says: lower it to what is left: {done}"


def test_the_walk_sees_errors_across_modules():
    mods = _modules()
    errors = _error_classes(mods)
    # subclasses defined in other modules, through their own imports
    assert "sarhad.core.ports.MissingPort" in errors
    assert "sarhad.core.csvfile.FileFormatError" in errors
    assert "sarhad.federation.client.PartnerUnreachable" in errors
    assert "sarhad.core.errors.NotFound" in errors


def test_a_validators_coded_message_reaches_the_api_in_the_readers_language(live):
    with live.client() as c:
        r = c.post(
            "/api/v1/partners",
            json={"name": "ir-node", "country": "IR", "taxii_url": "ftp://ir"},
            headers={"Accept-Language": "fa"},
        )
    assert r.status_code == 422
    (problem,) = r.json()["error"]["fields"]
    assert problem["field"] == "taxii_url"
    assert problem["message_code"] == "sharing.url_scheme"
    assert problem["message"].startswith("باید نشانی‌ای با http:// یا https://")


def test_numbers_in_an_error_take_the_readers_digits():
    text = message(
        "sharing.pem_ed25519",
        "must be an Ed25519 public key ({size}-byte SubjectPublicKeyInfo)",
        size=44,
    )
    assert str(text) == "must be an Ed25519 public key (44-byte SubjectPublicKeyInfo)"
    assert "۴۴" in text.in_("fa") and "44" not in text.in_("fa")
    assert "44" in text.in_("ur")  # Urdu in Pakistan prints Latin digits, as the console does
    # a text param (an id, a code) is not a number: its digits stay as written
    err = NotFound(
        message(
            "sharing.not_withholdable",
            "{name} cannot be withheld; choose from {names}",
            name="'PKIR-007'",
            names="x",
        )
    )
    assert "PKIR-007" in err.in_("fa")
    assert i18n.digits("2026-12-05", "fa") == "۲۰۲۶-۱۲-۰۵"
    far = message("border.swap.far", "is {km} km from the line", km=i18n.Number("4,311.5"))
    assert far.in_("fa").startswith("در ۴٬۳۱۱٫۵ ") and str(far) == "is 4,311.5 km from the line"


def test_the_cli_words_a_border_error_in_the_readers_language():
    result = CliRunner().invoke(
        border_app, ["locate", "--", "61.5", "95"], env={"SARHAD_LANG": "fa", "COLUMNS": "200"}
    )
    said = " ".join(result.output.split())
    assert result.exit_code == 2
    assert "lat: باید بین -۹۰ و ۹۰ باشد، داده شد ۹۵" in said
    assert "آیا طول و عرض جغرافیایی را جابه‌جا کردید؟" in said


def test_the_check_tells_a_coded_message_from_a_plain_one():
    def coded(source: str) -> bool:
        return _coded(ast.parse(source, mode="eval").body, {"with_hint"}, {"text_var"})

    assert coded('message("a.b", "no incident {id}", id=x)')
    assert coded("exc.text") and coded("text_var") and coded("with_hint(exc)")
    assert coded('message("a", "x") if y else message("b", "z")')
    assert not coded('f"no incident {x}"')
    assert not coded('"plain"')
    assert not coded('"prefix: " + message("a", "x")')  # a str again, its code lost
    assert not coded('message("a", "x") if y else "plain"')
    assert not coded("str(exc)") and not coded("exc.message")
