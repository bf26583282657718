"""Provider adapters, one package per cloud, each loaded lazily by the registry."""
