"""`bioagent tool NAME [--json] --FIELD VALUE …` and `bioagent tool list`: run the agent's tools directly.

One sub-command per tool, its options built from the tool's pydantic argument schema (so `--help` lists them).
"""

from __future__ import annotations

import inspect
import json
import types
import typing
from pathlib import Path
from typing import Any

import typer
from pydantic import ValidationError
from pydantic.fields import FieldInfo

from bioagent.api import ToolSpec, tool_specs, tools
from bioagent.api import run_tool as run_named_tool
from bioagent.cli.common import ConfigOption, exit_on_error, load_settings
from bioagent.errors import BioagentError

LONG_LIST = 12
JsonOption = typer.Option(False, "--json", help="Print the result object as JSON on stdout.")

tool_app = typer.Typer(
    help="Run one of the agent's protein and drug tools. `bioagent tool list` shows them all.",
    no_args_is_help=True,
)


@tool_app.command("list")
def list_tools(as_json: bool = JsonOption) -> None:
    """List the tools with a one-line description and their arguments (--json: full JSON schemas)."""
    entries = tools()
    if as_json:
        typer.echo(json.dumps(entries, indent=2))
        return
    for entry in entries:
        options = " ".join(f"--{name}" for name in entry["schema"]["properties"])
        typer.echo(f"{entry['name']:<20} {entry['summary']}\n{'':<20} options: {options}")


def run_tool(spec: ToolSpec, arguments: dict[str, Any], config: Path | None, as_json: bool) -> None:
    """Validate ``arguments`` with the tool's schema (options named as on the command line), run it through the
    API and print the result; an error is one line on stderr (and {"error": ...} with --json), exit 1."""
    try:
        validated = spec.args_schema.model_validate({k: v for k, v in arguments.items() if v is not None})
    except ValidationError as exc:
        raise BioagentError(_validation_message(exc)) from None
    result = run_named_tool(spec.name, validated.model_dump(), load_settings(config))
    typer.echo(json.dumps(result, indent=2) if as_json else _render(result))


def _validation_message(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "input"
    return f"--{where}: {first['msg']}"


def _command(spec: ToolSpec) -> Any:
    """A Typer command whose options mirror ``spec.args_schema`` plus --json and --config."""
    fields = spec.args_schema.model_fields

    @exit_on_error
    def command(**kwargs: Any) -> None:
        run_tool(spec, kwargs, kwargs.pop("config"), kwargs.pop("as_json"))

    parameters = [_parameter(name, field) for name, field in fields.items()]
    parameters += [
        inspect.Parameter("as_json", inspect.Parameter.KEYWORD_ONLY, default=JsonOption, annotation=bool),
        inspect.Parameter(
            "config", inspect.Parameter.KEYWORD_ONLY, default=ConfigOption, annotation=Path | None
        ),
    ]
    command.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    command.__annotations__ = {p.name: p.annotation for p in parameters}
    command.__doc__ = spec.description
    return command


def _parameter(name: str, field: FieldInfo) -> inspect.Parameter:
    annotation: Any
    annotation, is_list = _cli_type(field.annotation)
    flags = [f"--{name}"] + ([f"--{name.replace('_', '-')}"] if "_" in name else [])
    help_text = (field.description or "") + (" Separate several with commas." if is_list else "")
    if field.is_required():
        default = typer.Option(..., *flags, help=help_text)
    elif annotation is bool:
        default = typer.Option(field.default, *flags, help=help_text)
    else:
        annotation = annotation | None
        shown = field.default if not is_list else None
        default = typer.Option(
            None, *flags, help=help_text + (f" [default: {shown}]" if shown is not None else "")
        )
    return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation)


def _cli_type(annotation: Any) -> tuple[type, bool]:
    """The command-line type: flags for booleans, else text that the schema validates (lists: comma-separated)."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in typing.get_args(annotation) if a is not type(None)]
        return _cli_type(inner[0])
    if origin in (list, tuple):
        return str, True
    return (bool if annotation is bool else str), False


def _render(result: dict[str, Any]) -> str:
    """A readable YAML view: long number lists and base64 images shortened (use --json for everything)."""
    import yaml

    return yaml.safe_dump(_shorten(result), sort_keys=False, allow_unicode=True, width=110).rstrip()


def _shorten(value: Any) -> Any:
    if isinstance(value, dict):
        if "base64" in value:
            return {**value, "base64": f"<{len(value['base64'])} characters of base64; use --json>"}
        return {k: _shorten(v) for k, v in value.items()}
    if isinstance(value, list):
        if len(value) > LONG_LIST and all(isinstance(v, (int, float)) for v in value):
            head = ", ".join(str(v) for v in value[:8])
            return f"[{head}, … {len(value)} values; use --json for all]"
        return [_shorten(v) for v in value]
    return value


for _spec in tool_specs():
    tool_app.command(_spec.name, help=_spec.description)(_command(_spec))
