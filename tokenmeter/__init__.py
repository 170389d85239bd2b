"""tokenmeter core: config, domain, store, devices, services, CLI."""
