"""The errors ARM answers, with the codes and messages real ARM uses.

Each function returns an :class:`HttpError` to ``raise``; :meth:`ArmBase.error_response`
renders it as ``{"error": {"code", "message", "target"?}}``.
"""

from __future__ import annotations

from .._kernel import HttpError

NOT_FOUND_HELP = "For more details please go to https://aka.ms/ARMResourceNotFoundFix"


def missing_api_version() -> HttpError:
    return HttpError(400, "MissingApiVersionParameter",
                     "The api-version query parameter (?api-version=) is required for all "
                     "requests.")


def invalid_api_version(version: str) -> HttpError:
    """An ``api-version`` that is not an ARM version string (``YYYY-MM-DD[-preview]``)."""
    return HttpError(400, "InvalidApiVersionParameter",
                     f"The api-version '{version}' is invalid. The supported versions are "
                     "dated 'YYYY-MM-DD', optionally with a '-preview' suffix.")


def authentication_failed() -> HttpError:
    return HttpError(
        401, "AuthenticationFailed",
        "Authentication failed. The 'Authorization' header is missing.",
        headers={"WWW-Authenticate": 'Bearer authorization_uri="https://login.windows.net/", '
                 'error="invalid_token", error_description="The authentication failed because '
                 "of missing 'Authorization' header.\""})


def subscription_not_found(subscription: str) -> HttpError:
    return HttpError(404, "SubscriptionNotFound",
                     f"The subscription '{subscription}' could not be found.")


def group_not_found(group: str) -> HttpError:
    return HttpError(404, "ResourceGroupNotFound", f"Resource group '{group}' could not be found.")


def resource_not_found(rtype: str, name: str, group: str) -> HttpError:
    return HttpError(404, "ResourceNotFound",
                     f"The Resource '{rtype}/{name}' under resource group '{group}' was not "
                     f"found. {NOT_FOUND_HELP}")


def reference_not_found(rid: str) -> HttpError:
    """A resource named by id in a request body (a VM's NIC, a disk to attach) is missing."""
    return HttpError(404, "NotFound", f"Resource {rid} not found.")


def invalid_reference(target: str, referrer: str) -> HttpError:
    """Microsoft.Network's answer for a missing referenced resource (a NIC's subnet)."""
    return HttpError(400, "InvalidResourceReference",
                     f"Resource {target} referenced by resource {referrer} was not found. Please "
                     "make sure that the referenced resource exists, and that both resources are "
                     "in the same region.")


def invalid_parameter(target: str, message: str) -> HttpError:
    return HttpError(400, "InvalidParameter", message, target=target)


def invalid_body(message: str) -> HttpError:
    return HttpError(400, "InvalidRequestContent", message)


def location_required() -> HttpError:
    return HttpError(400, "LocationRequired", "The location property is required for this "
                     "definition.")


def location_not_available(location: str, rtype: str, known: str) -> HttpError:
    return HttpError(400, "LocationNotAvailableForResourceType",
                     f"The provided location '{location}' is not available for resource type "
                     f"'{rtype}'. List of available regions for the resource type is '{known}'.")


def precondition_failed() -> HttpError:
    return HttpError(412, "PreconditionFailed",
                     "The condition specified using HTTP conditional header(s) is not met.")


def not_allowed(message: str, target: str | None = None) -> HttpError:
    return HttpError(409, "OperationNotAllowed", message, target=target)


def bad_request(code: str, message: str, target: str | None = None) -> HttpError:
    return HttpError(400, code, message, target=target)


def location_changed(name: str, current: str, wanted: str, group: str) -> HttpError:
    """ARM's answer to a PUT that moves an existing resource to another location."""
    return HttpError(409, "InvalidResourceLocation",
                     f"The resource '{name}' already exists in location '{current}' in resource "
                     f"group '{group}'. A resource with the same name cannot be created in "
                     f"location '{wanted}'. Please select a new resource name.")


def property_change(name: str) -> HttpError:
    return HttpError(409, "PropertyChangeNotAllowed", f"Changing property '{name}' is not allowed.",
                     target=name)
