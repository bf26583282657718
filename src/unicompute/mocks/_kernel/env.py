"""Setting and hiding environment variables for the life of a fake, then restoring them."""

from __future__ import annotations

import os
from collections.abc import Mapping


class EnvOverride:
    """Sets ``values`` (``None`` removes the variable) on :meth:`apply`; :meth:`restore` puts
    back exactly what was there before. Applying twice without restoring is an error."""

    def __init__(self, values: Mapping[str, str | None]) -> None:
        self.values = dict(values)
        self._saved: dict[str, str | None] | None = None

    def apply(self) -> None:
        if self._saved is not None:
            raise RuntimeError("environment override already applied")
        self._saved = {name: os.environ.get(name) for name in self.values}
        _set(self.values)

    def restore(self) -> None:
        if self._saved is None:
            return
        _set(self._saved)
        self._saved = None


def _set(values: Mapping[str, str | None]) -> None:
    for name, value in values.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
