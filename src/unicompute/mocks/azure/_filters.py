"""The ``$filter`` forms ARM applies to the lists the fake serves, and its answers to others.

* Resource groups (``GET /subscriptions/{s}/resourcegroups``): only ``tagName eq 'n'`` and
  ``tagName eq 'n' and tagValue eq 'v'`` (keywords in any case; a quote inside a literal is
  doubled, as in OData). Tag names match in any case, values exactly (ARM's tag rules). Any
  other filter is 400 ``InvalidFilterInQueryString``, "Invalid $filter '…' specified in the
  query string." (the Resources provider's answer, e.g. to ``name eq 'x'``).
* Virtual machines (``list`` per group and ``listAll``): only
  ``'virtualMachineScaleSet/id' eq '<scale set id>'`` (VMs of a Flexible scale set; the fake
  has no scale sets, so it matches VMs whose ``properties.virtualMachineScaleSet.id`` is that
  id, i.e. none). ``$expand=instanceView`` is allowed only with such a filter. Any other filter
  or expand is 400 ``InvalidParameter`` naming the query parameter, in the Compute provider's
  "The value '…' of parameter '…' is not allowed. Allowed values are '…'." form.

An absent or empty ``$filter`` filters nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from . import _errors as errors
from ._base import Resource

Predicate = Callable[[Resource], bool]

_LITERAL = r"'((?:[^']|'')*)'"
_TAG_FILTER = re.compile(
    rf"\s*tagname\s+eq\s+{_LITERAL}(?:\s+and\s+tagvalue\s+eq\s+{_LITERAL})?\s*", re.IGNORECASE)
_SCALE_SET_FILTER = re.compile(rf"\s*'virtualMachineScaleSet/id'\s+eq\s+{_LITERAL}\s*",
                               re.IGNORECASE)
SCALE_SET_FILTER_FORM = ("'virtualMachineScaleSet/id' eq '/subscriptions/{subId}/resourceGroups/"
                         "{resourceGroupName}/providers/Microsoft.Compute/virtualMachineScaleSets/"
                         "{vmssName}'")


def _unquote(literal: str) -> str:
    return literal.replace("''", "'")


def group_filter(value: str | None) -> Predicate | None:
    """The resource groups a ``$filter`` keeps (``None``: all), or 400 as ARM answers."""
    if not value:
        return None
    match = _TAG_FILTER.fullmatch(value)
    if match is None:
        raise errors.bad_request("InvalidFilterInQueryString",
                                 f"Invalid $filter '{value}' specified in the query string.")
    name = _unquote(match[1]).casefold()
    wanted = None if match[2] is None else _unquote(match[2])

    def keep(res: Resource) -> bool:
        tags = res.body.get("tags") or {}
        return any(key.casefold() == name and (wanted is None or tag == wanted)
                   for key, tag in tags.items())

    return keep


def vm_filter(value: str | None, expand: str | None) -> Predicate | None:
    """The VMs a ``$filter`` keeps (``None``: all), checking ``$expand`` against it; 400
    ``InvalidParameter`` for a filter or expand ARM does not accept."""
    keep: Predicate | None = None
    if value:
        match = _SCALE_SET_FILTER.fullmatch(value)
        if match is None:
            raise errors.invalid_parameter(
                "$filter", f"The value '{value}' of parameter '$filter' is not allowed. Allowed "
                f"values are '{SCALE_SET_FILTER_FORM}'.")
        scale_set = _unquote(match[1]).casefold()

        def keep(res: Resource) -> bool:
            ref = res.props.get("virtualMachineScaleSet")
            return isinstance(ref, dict) and str(ref.get("id", "")).casefold() == scale_set

    if expand and (keep is None or expand.strip().lower() != "instanceview"):
        allowed = "instanceView, with a valid $filter" if keep is None else "instanceView"
        raise errors.invalid_parameter(
            "$expand", f"The value '{expand}' of parameter '$expand' is not allowed. Allowed "
            f"values are '{allowed}'.")
    return keep
