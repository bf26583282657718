"""Test support for unicompute users and provider authors.

* :mod:`unicompute.testing.plugin` is a pytest plugin (registered through the ``pytest11`` entry
  point, so it is active wherever unicompute is installed) with the ``mock_cloud`` and ``cloud``
  fixtures and the ``clouds`` marker.
* :class:`VMConformance` is the behaviour every provider must show; subclass it in a test module
  with a ``profile`` to run it against a provider. :class:`FunctionConformance` is the same for
  serverless functions.
"""

from .conformance import VMConformance
from .functions_conformance import FunctionConformance, running_fake
from .profiles import PROFILES, Profile, profile_for

__all__ = [
    "PROFILES", "FunctionConformance", "Profile", "VMConformance", "profile_for", "running_fake",
]
