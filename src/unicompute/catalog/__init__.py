"""Sizes and prices of every cloud, from one dated snapshot per cloud, and the billing rules.

``load_catalog()`` reads the snapshot shipped in the package (``aws.json``, ``azure.json``,
``gcp.json``), or the newer copy ``unicompute catalog refresh`` downloaded, and always says
which (:meth:`Catalog.date`, :meth:`Catalog.source`, :meth:`Catalog.origin`). Every price names
its source, and derived prices say they are estimates (:meth:`Offer.is_estimate`). Unknown
prices are ``None``, never zero. :func:`cost_of` applies each cloud's billing rules.

This package sits below the providers: it imports no provider, workload or cloud SDK.
"""

from __future__ import annotations

from ._load import Catalog, cache_dir, forget_loaded, load_catalog
from ._model import FunctionPrices, Offer, Pricing, Source
from .billing import RULES, BillingRule, PriceUnknown, cost_of

__all__ = [
    "RULES",
    "BillingRule",
    "Catalog",
    "FunctionPrices",
    "Offer",
    "PriceUnknown",
    "Pricing",
    "Source",
    "cache_dir",
    "cost_of",
    "forget_loaded",
    "load_catalog",
]
