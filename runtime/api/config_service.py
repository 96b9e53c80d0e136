"""The device config behind GET/PUT /api/v1/config/ and POST /api/v1/config/restart.

A change is checked completely before anything happens: the models (every problem by path),
then the board (a trial device is built for it, which finds every sensor the board lacks).
Only then is the file written (temp file, fsync, rename; the previous version kept as
`<file>.prev`) and the change applied:

- live, without touching acquisition: names and descriptions (device name and time zone,
  machines' name / equipment_id / location / type, sensors' names), store retention, API rate
  limits;
- by restarting the device's services in-process (new stages, same store, same HTTP server):
  everything that changes how samples are acquired or analysed (machines, mounts, analysis);
- at the next start of the process: the HTTP listener (host, port, TLS, certificate) and the
  store's flush interval. The response lists these;
- by the fieldbus front ends, while acquisition runs on: `[modbus]` and `[profibus]`
  (runtime.fieldbus.frontends binds a new map or writes into the running server and restarts
  its listener for new ports or serial settings). The response's `fieldbus` says what each
  front end did.

Secrets (fields typed `runtime.config.Secret`) never leave the device: they read as MASK, and
a PUT that sends MASK back keeps the stored value.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import os
import re
import types
import typing
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from ..config import SECRET, ConfigError, DeviceConfig, dump_config, load_config, validate_config
from ..device import BindingError
from ..errors import UsageError
from ..readings import iso_utc
from .errors import ApiError

MASK = "********"
SECTIONS = tuple(DeviceConfig.model_fields)  # a PUT names every one: it replaces the config

# Settings applied without restarting anything, and settings that wait for the next start of
# the process; everything else restarts the device's services in-process.
LIVE = re.compile(
    r"^(device\.(name|timezone)"
    r"|machines\[\d+\]\.(name|equipment_id|location|type)"
    r"|machines\[\d+\]\.sensors\[\d+\]\.name"
    r"|http\.(failed_auth_limit|failed_auth_window_s|key_rate_limit_per_s|key_rate_burst)"
    r"|store\.retention(\..*)?"
    r"|alerts(\..*)?|notifications(\..*)?)$"
)
NEXT_START = re.compile(
    r"^(http(\.(enabled|host|port|tls|cert_file|key_file))?|store\.flush_interval_s)$"
)
FIELDBUS = re.compile(r"^(modbus|profibus)([.\[].*)?$")  # applied by the front ends
FIXED = re.compile(r"^device\.board$")  # the board is hardware: not changed at run time

Path_ = tuple[str | int, ...]


class ConfigRejected(ApiError):
    def __init__(self, problems: list[str]) -> None:
        count = f"{len(problems)} problem{'s' if len(problems) != 1 else ''}"
        super().__init__(422, f"config refused ({count}); nothing was changed", problems)


# -- secrets ---------------------------------------------------------------------------------


def _is_secret(annotation: Any, metadata: list[Any] | None = None) -> bool:
    if metadata and any(m is SECRET for m in metadata):
        return True
    if typing.get_origin(annotation) is typing.Annotated:
        return any(m is SECRET for m in typing.get_args(annotation)[1:]) or _is_secret(
            typing.get_args(annotation)[0]
        )
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return any(_is_secret(a) for a in typing.get_args(annotation))
    return False


def _secret_fields(model: type[BaseModel]) -> set[str]:
    return {
        name
        for name, info in model.model_fields.items()
        if _is_secret(info.annotation, info.metadata)
    }


def secret_paths(model: BaseModel, path: Path_ = ()) -> Iterator[Path_]:
    """Where `model` holds a secret that is set (by field name and list index / dict key)."""
    secrets = _secret_fields(type(model))
    for name in type(model).model_fields:
        value = getattr(model, name)
        here = (*path, name)
        if name in secrets:
            if value:
                yield here
        else:
            yield from _secret_paths_in(value, here)


def _secret_paths_in(value: Any, path: Path_) -> Iterator[Path_]:
    if isinstance(value, BaseModel):
        yield from secret_paths(value, path)
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            yield from _secret_paths_in(item, (*path, i))
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _secret_paths_in(item, (*path, key))


def masked(config: BaseModel) -> dict[str, Any]:
    """The config as JSON data with every secret replaced by MASK."""
    data = config.model_dump(mode="json")
    for path in secret_paths(config):
        target = data
        for part in path[:-1]:
            target = target[part]
        target[path[-1]] = MASK
    return data


def unmask(data: dict[str, Any], model: type[BaseModel], stored: Any) -> tuple[dict, list[str]]:
    """A copy of `data` (a config as sent) in which every secret sent as MASK is the stored
    value again, and the problems where there is no stored value to keep. List items are
    matched to the stored ones by their `id` when they have one, else by position."""
    data = copy.deepcopy(data)
    problems: list[str] = []
    _unmask(data, model, stored, "", problems)
    return data, problems


def _unmask(data: Any, model: type[BaseModel], stored: Any, path: str, problems: list) -> None:
    if not isinstance(data, dict):
        return
    secrets = _secret_fields(model)
    for name, info in model.model_fields.items():
        if name not in data:
            continue
        here = f"{path}.{name}" if path else name
        value = data[name]
        kept = getattr(stored, name, None) if isinstance(stored, model) else None
        if name in secrets:
            if value == MASK:
                if kept:
                    data[name] = kept
                else:
                    problems.append(
                        f"{here}: {MASK!r} stands for a stored secret, and none is stored "
                        "here; send the secret itself"
                    )
            continue
        container, inner = _nested_model(info.annotation)
        if inner is None:
            continue
        if container is None:
            _unmask(value, inner, kept, here, problems)
        elif container is list and isinstance(value, list):
            for i, item in enumerate(value):
                match = _matching_item(item, i, kept if isinstance(kept, list | tuple) else [])
                _unmask(item, inner, match, f"{here}[{i}]", problems)
        elif container is dict and isinstance(value, dict):
            for key, item in value.items():
                match = kept.get(key) if isinstance(kept, dict) else None
                _unmask(item, inner, match, f"{here}.{key}", problems)


def _matching_item(item: Any, index: int, stored: list | tuple) -> Any:
    if isinstance(item, dict) and "id" in item:
        return next((s for s in stored if getattr(s, "id", None) == item["id"]), None)
    return stored[index] if index < len(stored) else None


def _nested_model(annotation: Any) -> tuple[type | None, type[BaseModel] | None]:
    """(None | list | dict, model class) for annotations holding config models."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _nested_model(typing.get_args(annotation)[0])
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return None, annotation
    if origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(annotation):
            found = _nested_model(arg)
            if found[1] is not None:
                return found
    if origin in (list, tuple) and typing.get_args(annotation):
        _, inner = _nested_model(typing.get_args(annotation)[0])
        return (list, inner) if inner is not None else (None, None)
    if origin is dict and len(typing.get_args(annotation)) == 2:
        _, inner = _nested_model(typing.get_args(annotation)[1])
        return (dict, inner) if inner is not None else (None, None)
    return None, None


# -- what changed, and how it is applied -------------------------------------------------


def changed_paths(old: Any, new: Any, path: str = "") -> list[str]:
    """Paths (`machines[0].name`) where two configs' data differ; a list whose length changed
    is one change."""
    if isinstance(old, BaseModel) and isinstance(new, BaseModel):
        old, new = old.model_dump(), new.model_dump()
    if isinstance(old, dict) and isinstance(new, dict):
        out: list[str] = []
        for key in sorted(set(old) | set(new), key=str):
            here = f"{path}.{key}" if path else str(key)
            if key not in old or key not in new:
                out.append(here)
            else:
                out += changed_paths(old[key], new[key], here)
        return out
    if isinstance(old, list | tuple) and isinstance(new, list | tuple) and len(old) == len(new):
        out = []
        for i, (a, b) in enumerate(zip(old, new, strict=True)):
            out += changed_paths(a, b, f"{path}[{i}]")
        return out
    return [] if old == new else [path or "config"]


def plan(changes: list[str]) -> tuple[list[str], list[str], list[str], list[str]]:
    """(live, restart, next_start, fieldbus): how each changed path is applied."""
    live = [p for p in changes if LIVE.match(p)]
    later = [p for p in changes if NEXT_START.match(p)]
    fieldbus = [p for p in changes if FIELDBUS.match(p)]
    done = set(live) | set(later) | set(fieldbus)
    restart = [p for p in changes if p not in done]
    return live, restart, later, fieldbus


def fieldbus_sections(paths: list[str]) -> list[str]:
    """The sections ("modbus", "profibus") the fieldbus paths of a change touch."""
    return sorted({re.split(r"[.\[]", p, maxsplit=1)[0] for p in paths if FIELDBUS.match(p)})


def fieldbus_problems(config: DeviceConfig, catalog: Any) -> list[str]:
    """What the fieldbus sections name that the plant lacks (a register entry's sensor, a
    PROFIBUS module's machine), by config path: refused like any invalid setting rather than
    found by the running front end."""
    from ..fieldbus.profibus.slave import ProfibusModuleError, build_modules
    from ..fieldbus.registermap import ModbusMapError, build_register_map

    problems: list[str] = []
    try:
        build_register_map(config.modbus, catalog)
    except ModbusMapError as exc:
        problems += exc.problems
    try:
        build_modules(config.profibus, catalog)
    except ProfibusModuleError as exc:
        problems += exc.problems
    return problems


# -- the file --------------------------------------------------------------------------------


def backup_path(path: Path) -> Path:
    return path.with_name(path.name + ".prev")


def write_atomically(path: Path, text: str, previous: str | None) -> None:
    """Replace `path` with `text` so a reader (or a power cut) sees the old file or the new
    one, never a mix: temp file in the same directory, fsync, rename, fsync the directory.
    `previous` (the text being replaced) is kept as `<path>.prev` the same way first."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        mode = path.stat().st_mode & 0o777
    except FileNotFoundError:
        mode = 0o600  # it may hold secrets
    if previous is not None:  # byte for byte, even if it was not valid UTF-8
        _replace(backup_path(path), previous.encode("utf-8", "surrogateescape"), mode)
    _replace(path, text.encode("utf-8", "surrogateescape"), mode)


def _replace(path: Path, data: bytes, mode: int) -> None:
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            temp.unlink()
        raise
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def _read_if_there(path: Path) -> str | None:
    """The file's text; None if it is gone (removed while the device ran). A file that cannot
    be read is an OSError, answered 503."""
    try:
        return path.read_text("utf-8", errors="surrogateescape")
    except FileNotFoundError:
        return None


def _roll_back(source: Any, previous: str | None) -> None:
    if source.shipped or previous is None:  # there was no file of the device's own
        for path in (source.target, backup_path(source.target)):
            path.unlink(missing_ok=True)
    else:
        write_atomically(source.target, previous, None)


# -- the service -----------------------------------------------------------------------------


class ConfigService:
    """The running config: shown masked, changed after a complete check, applied as live as
    it can be. Used from the event loop (changes are serialised by a lock)."""

    def __init__(
        self,
        session: Any,  # runtime.session.Session
        ctx: Any,  # runtime.api.context.ApiContext
        restart: Callable[[DeviceConfig], asyncio.Future[None]] | None = None,
    ) -> None:
        self.session = session
        self.ctx = ctx
        self._restart = restart
        self._lock = asyncio.Lock()
        self._following: set[asyncio.Task[None]] = set()

    @property
    def current(self) -> DeviceConfig:
        return self.session.config

    @property
    def source(self) -> Any:  # runtime.session.ConfigSource
        return self.session.source

    def view(self) -> dict[str, Any]:
        return masked(self.current)

    # -- checks (run in a worker thread: a trial device takes a few ms) ------------------

    def check(self, data: Any) -> tuple[DeviceConfig, Any]:
        """The config `data` stands for and its trial device; ConfigRejected otherwise."""
        if not isinstance(data, dict):
            raise ConfigRejected(
                ["config: send a JSON object: the whole config, as GET /api/v1/config/ gives it"]
            )
        problems = [
            f"{name}: missing; a PUT replaces the whole config, so send every section "
            "(as GET /api/v1/config/ gives it)"
            for name in SECTIONS
            if name not in data
        ]
        data, mask_problems = unmask(data, DeviceConfig, self.current)
        problems += mask_problems
        try:
            config = validate_config(data, "request body")
        except ConfigError as exc:
            raise ConfigRejected(problems + exc.problems) from None
        try:
            dump_config(config)
        except ValueError as exc:  # text that is not Unicode, say (a lone surrogate)
            problems.append(f"config: cannot be stored as TOML: {exc}")
        if problems:
            raise ConfigRejected(problems)
        return config, self._trial(config)

    def _trial(self, config: DeviceConfig) -> Any:
        problems = [
            f"{path}: the board cannot be changed while the device runs (it is "
            f"{self.current.device.board!r}); edit the config file and restart esocore"
            for path in changed_paths(self.current, config)
            if FIXED.match(path)
        ]
        if problems:
            raise ConfigRejected(problems)
        try:
            trial = self.session.trial(config)
        except BindingError as exc:
            raise ConfigRejected(exc.problems) from None
        except (ValueError, UsageError) as exc:
            raise ConfigRejected([f"config: does not fit the board: {exc}"]) from None
        problems = fieldbus_problems(config, trial.catalog)
        if problems:
            raise ConfigRejected(problems)
        return trial

    def _load_file(self) -> tuple[DeviceConfig, Any]:
        try:
            config = load_config(self.source.path)
        except ConfigError as exc:
            raise ConfigRejected([f"{self.source.path}: {p}" for p in exc.problems]) from None
        return config, self._trial(config)

    # -- changes (on the loop) -----------------------------------------------------------

    async def replace(self, data: Any, key_id: str) -> dict[str, Any]:
        """PUT: check, write, apply; the answer says what was applied how."""
        async with self._lock:
            return await self._replace(data, key_id)

    async def edit(self, change: Callable[[dict[str, Any]], None], key_id: str) -> dict[str, Any]:
        """One part of the config changed (a rule, a webhook) by `change`, which edits the
        current config's data in place (secrets in clear); then as a PUT of the whole."""
        async with self._lock:
            data = self.current.model_dump(mode="json")
            change(data)
            return await self._replace(data, key_id)

    async def _replace(self, data: Any, key_id: str) -> dict[str, Any]:
        config, trial = await asyncio.to_thread(self.check, data)
        changes = changed_paths(self.current, config)
        _, restart, later, _ = plan(changes)
        if not changes:
            return self._answer("unchanged", [], [], config)
        if restart and self._restart is None:  # (fieldbus sections never need it)
            raise ApiError(
                409,
                "this change needs a restart of the device's services, which this "
                "process cannot do; edit the config file and restart esocore",
                restart,
            )
        source = self.source
        try:
            previous_text = await asyncio.to_thread(_read_if_there, source.path)
        except OSError as exc:
            raise ApiError(
                503, f"cannot read {source.path}: {exc.strerror or exc}; nothing was changed"
            ) from None
        header = (
            f"EsoCore Edge device config, written by PUT /api/v1/config/ at "
            f"{iso_utc(self.ctx.utc_now())}.\nThe previous version is in "
            f"{backup_path(source.target).name}. Comments are not kept when the API "
            "writes this file."
        )
        try:
            text = dump_config(config, header)
        except ValueError as exc:
            raise ApiError(500, f"the config cannot be written as TOML: {exc}") from None
        try:
            await asyncio.to_thread(write_atomically, source.target, text, previous_text)
        except OSError as exc:
            raise ApiError(
                503, f"cannot write {source.target}: {exc.strerror or exc}; nothing was changed"
            ) from None
        if source.shipped:
            self.session.source = type(source)(source.target, source.target)
        try:
            applied, fieldbus = await self._apply(config, trial, changes, restart)
        except Exception as exc:
            await asyncio.to_thread(_roll_back, source, previous_text)
            self.session.source = source
            self.ctx.log_event(
                "config_apply_failed",
                f"config change by key {key_id} could not be applied ({exc}); the "
                "previous config is running and back in the file",
                data={"key_id": key_id, "changed": changes},
            )
            raise ApiError(
                500,
                f"the change could not be applied ({exc}); the previous config is "
                "running and back in the file",
            ) from None
        self.ctx.log_event(
            "config_changed",
            f"config changed by key {key_id}: {', '.join(changes)} ({applied})",
            data={
                "key_id": key_id,
                "changed": changes,
                "applied": applied,
                "next_start": later,
                "fieldbus": fieldbus,
                "file": str(self.source.path),
            },
        )
        return self._answer(applied, changes, later, config, fieldbus)

    async def restart(self, key_id: str) -> dict[str, Any]:
        """POST /config/restart: re-read the config file (so edits by hand apply too), check
        it, and restart the device's services with it; returns once the restart is queued."""
        if self._restart is None:
            raise ApiError(503, "this process cannot restart the device's services")
        async with self._lock:
            config, _ = await asyncio.to_thread(self._load_file)
            changes = changed_paths(self.current, config)
            _, _, later, fieldbus = plan(changes)
            self._apply_settings(config)
            self.ctx.log_event(
                "services_restart_requested",
                f"restart of the device's services requested by key {key_id}",
                data={"key_id": key_id, "changed": changes, "file": str(self.source.path)},
            )
            future = self._restart(config)
            future.add_done_callback(self._restart_done)
            if fieldbus and self.ctx.fieldbus is not None:
                task = asyncio.ensure_future(self._follow_after(future, config, fieldbus))
                self._following.add(task)
                task.add_done_callback(self._following.discard)
        return {
            "status": "restarting",
            "file": str(self.source.path),
            "changed": changes,
            "next_start": later,
        }

    async def _follow_after(
        self, restarted: asyncio.Future[None], config: DeviceConfig, paths: list[str]
    ) -> None:
        """A hand-edited [modbus] / [profibus] reaches the front ends once the restart is
        done (the restart answers 202 before that)."""
        with contextlib.suppress(Exception):  # a failed restart is logged by _restart_done
            await restarted
        async with self._lock:
            done = await self.ctx.fieldbus.follow(config, fieldbus_sections(paths))
        self.ctx.log_event(
            "fieldbus_applied",
            "fieldbus settings from the config file applied: "
            + ", ".join(f"{name} {what['action']}" for name, what in done.items()),
            data={"fieldbus": done},
        )

    def _restart_done(self, future: asyncio.Future[None]) -> None:
        if not future.cancelled() and future.exception() is not None:
            self.ctx.log_event("services_restart_failed", f"restart failed: {future.exception()}")

    async def _apply(
        self, config: DeviceConfig, trial: Any, changes: list[str], restart: list[str]
    ) -> tuple[str, dict[str, Any] | None]:
        """How it was applied: "restarted", "fieldbus" (by the Modbus / PROFIBUS front ends,
        acquisition untouched), "live", or "next_start" (nothing to apply now); and what each
        changed front end did (None when no front end runs in this process)."""
        self._apply_settings(config)
        fieldbus = [p for p in changes if FIELDBUS.match(p)]
        if restart:
            assert self._restart is not None
            await self._restart(config)
            applied = "restarted"
        else:
            await self.ctx.on_device(lambda: self.session.adopt(config, trial))
            self.ctx.refresh_catalog()
            live = any(LIVE.match(p) for p in changes)
            applied = "fieldbus" if fieldbus else "live" if live else "next_start"
        done = None
        if fieldbus and self.ctx.fieldbus is not None:
            done = await self.ctx.fieldbus.follow(config, fieldbus_sections(fieldbus))
        return applied, done

    def _apply_settings(self, config: DeviceConfig) -> None:
        """What front ends hold themselves: the API's rate limits."""
        http = config.http
        auth = self.ctx.auth
        auth.failures.limit, auth.failures.window = (
            http.failed_auth_limit,
            http.failed_auth_window_s,
        )
        auth.rates.rate, auth.rates.burst = http.key_rate_limit_per_s, http.key_rate_burst

    def _answer(
        self,
        applied: str,
        changes: list[str],
        later: list[str],
        config: DeviceConfig,
        fieldbus: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        return {
            "applied": applied,
            "changed": changes,
            "next_start": later,
            "fieldbus": fieldbus,
            "file": str(self.source.path),
            "previous": str(backup_path(self.source.target)) if changes else None,
            "config": masked(config),
        }
