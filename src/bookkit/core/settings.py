"""Typed extension settings: one dataclass per extension, registered with Sphinx.

Every bookkit extension declares its configuration once, as a frozen dataclass
whose fields carry a default and a ``help`` string in their metadata::

    @dataclass(frozen=True)
    class CardsSettings:
        cards_columns: int = setting(3, "Cards per row on wide screens.")

    register(app, CardsSettings)          # in setup()
    cfg = read(app.config, CardsSettings) # anywhere later

``register`` adds one Sphinx config value per field (prefix ``bookkit_``). Every
registered class is validated on ``config-inited`` at :data:`VALIDATE_PRIORITY`, before
any bookkit listener reads a setting (they all run at a higher priority number, which a
test checks), so a wrong type in ``_config.yml`` fails the build naming the key and the
expected type instead of surfacing as an odd error inside an extension.
"""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sphinx.application import Sphinx
from sphinx.config import Config
from sphinx.errors import ConfigError

from bookkit.core.store import run_state

T = TypeVar("T")
PREFIX = "bookkit_"


def setting(default: Any, help: str, *, rebuild: str = "env") -> Any:
    """A dataclass field with a default, a help text and Sphinx's rebuild kind."""
    if isinstance(default, (list, dict, set)):
        factory = (lambda d=default: type(d)(d))
        return dataclasses.field(default_factory=factory, metadata={"help": help, "rebuild": rebuild})
    return dataclasses.field(default=default, metadata={"help": help, "rebuild": rebuild})


def _default(field: dataclasses.Field) -> Any:
    if field.default is not dataclasses.MISSING:
        return field.default
    return field.default_factory()  # type: ignore[misc]


def _check_type(value: Any, hint: Any) -> bool:
    origin = typing.get_origin(hint)
    if hint is Any:
        return True
    if origin is typing.Union or origin is getattr(__import__("types"), "UnionType", None):
        return any(_check_type(value, h) for h in typing.get_args(hint))
    if hint is type(None):
        return value is None
    if origin in (list, tuple):
        return isinstance(value, (list, tuple))
    if origin is dict:
        return isinstance(value, dict)
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if isinstance(hint, type):
        return isinstance(value, hint)
    return True


#: config-inited priority of the validation: lower than every bookkit reader (sphinx-design uses 400 too).
VALIDATE_PRIORITY = 400


@dataclass
class _Registered:
    classes: list[type] = field(default_factory=list)


def register(app: Sphinx, cls: type) -> None:
    """Add every field of ``cls`` as ``bookkit_<field>``; validated on config-inited (VALIDATE_PRIORITY)."""
    for field_ in dataclasses.fields(cls):
        name = PREFIX + field_.name
        if name not in app.config.values:
            app.add_config_value(name, _default(field_), field_.metadata.get("rebuild", "env"))
    registered = run_state(app, _Registered)
    if not registered.classes:
        app.connect("config-inited", validate, priority=VALIDATE_PRIORITY)
    if cls not in registered.classes:
        registered.classes.append(cls)


def validate(app: Sphinx, config: Config) -> None:
    """config-inited: every registered setting has its declared type."""
    for cls in run_state(app, _Registered).classes:
        hints = typing.get_type_hints(cls)
        for field_ in dataclasses.fields(cls):
            value = getattr(config, PREFIX + field_.name)
            if not _check_type(value, hints[field_.name]):
                raise ConfigError(
                    f"_config.yml: sphinx.config.{PREFIX}{field_.name} = {value!r} has the wrong type; "
                    f"expected {hints[field_.name]} ({field_.metadata.get('help', '')})"
                )


def read(config: Config, cls: type[T]) -> T:
    """Build the settings dataclass from Sphinx's config values."""
    values = {f.name: getattr(config, PREFIX + f.name, _default(f)) for f in dataclasses.fields(cls)}
    return cls(**values)


def describe(cls: type) -> list[tuple[str, Any, str]]:
    """``(key, default, help)`` for each field: used to document the settings."""
    return [(PREFIX + f.name, _default(f), f.metadata.get("help", "")) for f in dataclasses.fields(cls)]
