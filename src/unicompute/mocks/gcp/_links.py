"""Resource URLs: the self links GCE prints and the references it accepts in request bodies."""

from __future__ import annotations

import re

#: The prefix of every ``selfLink`` GCE prints (it answers on compute.googleapis.com too).
API = "https://www.googleapis.com/compute/v1/"
#: RFC 1035 names, as GCE checks them.
NAME_RE = re.compile(r"[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?")
NAME_PATTERN = "(?:[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?)"
_URL_PREFIX = re.compile(r"^https?://[^/]+/compute/(?:v1|beta|alpha)/")


def link(path: str) -> str:
    """The self link of ``projects/...`` path ``path``."""
    return API + path


def relative(ref: str) -> str:
    """``ref`` without any ``https://host/compute/v1/`` prefix."""
    return _URL_PREFIX.sub("", ref)


def last(url: str) -> str:
    """The last segment of a link (a zone URL's zone name)."""
    return url.rsplit("/", 1)[-1]


def parse_ref(ref: str, project: str, kind: str, scope: str | None = None,
              ) -> tuple[str, str | None, str] | None:
    """Split a reference to a resource of collection ``kind`` (``machineTypes``, ``images``…)
    into ``(project, scope_name, name)``.

    Accepted, as GCE accepts them: a full URL, ``projects/P/...``, or a path relative to the
    project (``zones/Z/machineTypes/T``, ``global/networks/N``); ``scope`` is ``zones``,
    ``regions`` or ``None`` for global resources. ``None`` when ``ref`` has another shape.
    """
    rel = relative(ref)
    parts = rel.split("/")
    if parts[0] == "projects" and len(parts) > 2:
        project, parts = parts[1], parts[2:]
    if scope is None:
        if len(parts) == 3 and parts[0] == "global" and parts[1] == kind:
            return project, None, parts[2]
        return None
    if len(parts) == 4 and parts[0] == scope and parts[2] == kind:
        return project, parts[1], parts[3]
    return None
