"""Settings presets: YAML files read by ``Settings.from_preset(name)`` (``--preset`` on the CLI)."""
