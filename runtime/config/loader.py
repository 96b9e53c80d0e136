"""Reading and validating device config files; every problem is reported by its path."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import tomli_w
from pydantic import ValidationError

from ..errors import UsageError
from .models import DeviceConfig, duplicate_id_problems

DEFAULTS_DIR = Path(__file__).resolve().parent / "defaults"


class ConfigError(UsageError):
    """An invalid config: `problems` lists every error as 'path: message'."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        listed = "\n".join(f"  {p}" for p in problems)
        super().__init__(f"{source}: invalid config ({len(problems)} problems):\n{listed}")


def default_config_path(board: str) -> Path:
    """The config shipped for a board (the `sim` board's monitors the simulated plant)."""
    return DEFAULTS_DIR / f"{board}.toml"


def load_config(path: str | Path) -> DeviceConfig:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(str(path), ["no such file"]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(str(path), [f"cannot be read ({exc})"]) from None
    return parse_config(text, str(path))


def parse_config(text: str, source: str = "config") -> DeviceConfig:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(source, [f"not valid TOML: {exc}"]) from None
    return validate_config(data, source)


def dump_config(config: DeviceConfig, header: str = "") -> str:
    """The config as TOML that `parse_config` reads back to an equal config.

    Unset settings (None) are left out, as TOML has no null, and so are empty tables; both
    read back as the same defaults. Comments are not kept (`header` becomes the file's
    opening comment). ValueError if the config cannot be stored as TOML text.
    """
    data = _prune(config.model_dump(mode="json", exclude_none=True))
    text = tomli_w.dumps(data)
    comment = "".join(f"# {line}".rstrip() + "\n" for line in header.splitlines())
    text = comment + ("\n" if comment else "") + text
    text.encode("utf-8")  # UnicodeEncodeError (a ValueError) for lone surrogates
    try:
        again = parse_config(text, "written config")
    except ConfigError as exc:
        raise ValueError("; ".join(exc.problems)) from None
    if again != config:  # a value TOML cannot express
        raise ValueError("the config does not survive a round trip through TOML")
    return text


def _prune(value: Any) -> Any:
    if isinstance(value, dict):
        pruned = {k: _prune(v) for k, v in value.items()}
        return {k: v for k, v in pruned.items() if v != {}}
    if isinstance(value, list):
        return [_prune(v) for v in value]
    return value


def validate_config(data: dict[str, Any], source: str = "config") -> DeviceConfig:
    problems = duplicate_id_problems(data)
    try:
        config = DeviceConfig.model_validate(data)
    except ValidationError as exc:
        problems = format_validation_errors(exc) + problems
    else:
        if not problems:
            return config
    raise ConfigError(source, problems)


def format_validation_errors(exc: ValidationError) -> list[str]:
    """pydantic errors as `machines[1].sensors[0].frame_length: message` lines."""
    problems: list[str] = []
    for error in exc.errors(include_url=False):
        path = format_path(error["loc"])
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message = "unknown setting (check the spelling)"
        problems.append(f"{path}: {message}" if path else message)
    return problems


def format_path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part in ("function-after", "function-before") or "[" in str(part):
            continue
        else:
            out += f".{part}" if out else str(part)
    return out
